/** The wallet ownership proof on both rails: ed25519 (Solana) and EIP-191 personal_sign (EVM). */
import { Keypair } from '@solana/web3.js';
import { ed25519 } from '@noble/curves/ed25519';
import { Wallet } from 'ethers';
import express from 'express';
import request from 'supertest';
import { errorHandler } from '../../src/api/errors';
import { requireWalletProof, walletProofMessage } from '../../src/api/wallet-proof';
import { createLogger } from '../../src/logger';

const NOW = new Date('2026-12-01T12:00:00.000Z');
const app = express();
app.get('/api/creators/:wallet/earnings', requireWalletProof({ maxAgeMs: 5 * 60_000, now: () => NOW }), (req, res) => {
  res.json({ ok: req.params.wallet });
});
app.use(errorHandler(createLogger({ level: 'silent', name: 'test' })));

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const route = (w: string) => `/api/creators/${w}/earnings`;

describe('EVM (EIP-191)', () => {
  const wallet = Wallet.createRandom();
  const address = wallet.address;

  it('accepts a fresh personal_sign of the message, whatever the address case', async () => {
    for (const shown of [address, address.toLowerCase()]) {
      const message = walletProofMessage(shown, route(shown), new Date(NOW.getTime() - 60_000));
      const res = await request(app)
        .get(route(shown))
        .set('x-wallet-message', b64(message))
        .set('x-wallet-signature', await wallet.signMessage(message));
      expect([shown, res.status]).toEqual([shown, 200]);
    }
  });

  it.each([
    ['signed by another key', async (m: string) => Wallet.createRandom().signMessage(m), 0],
    ['older than the maximum age', async (m: string) => wallet.signMessage(m), 6 * 60_000],
    ['dated in the future', async (m: string) => wallet.signMessage(m), -5 * 60_000],
    ['with a malformed signature', async () => '0x1234', 0],
  ])('refuses a proof %s with 401', async (_name, sign, ageMs) => {
    const message = walletProofMessage(address, route(address), new Date(NOW.getTime() - ageMs));
    const res = await request(app)
      .get(route(address))
      .set('x-wallet-message', b64(message))
      .set('x-wallet-signature', await sign(message));
    expect(res.status).toBe(401);
    expect(res.body.error.type).toBe('unauthorized');
  });
});

describe('Solana (ed25519)', () => {
  const key = Keypair.generate();
  const address = key.publicKey.toBase58();
  const sign = (m: string, k = key) => Buffer.from(ed25519.sign(new TextEncoder().encode(m), k.secretKey.slice(0, 32))).toString('base64');

  it('accepts a fresh signature and refuses one over a different message', async () => {
    const message = walletProofMessage(address, route(address), NOW);
    expect(
      (await request(app).get(route(address)).set('x-wallet-message', b64(message)).set('x-wallet-signature', sign(message))).status,
    ).toBe(200);
    const other = walletProofMessage(address, route(address), new Date(NOW.getTime() - 1000));
    expect(
      (await request(app).get(route(address)).set('x-wallet-message', b64(message)).set('x-wallet-signature', sign(other))).status,
    ).toBe(401);
  });
});
