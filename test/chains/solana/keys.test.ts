import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Keypair } from '@solana/web3.js';
import bs58 from 'bs58';
import { loadConfig } from '../../../src/config';
import {
  deriveNftMintKeypair,
  isValidSolanaWallet,
  loadTreasuryKeypair,
  resolveUsdcMint,
  solanaRailFromConfig,
} from '../../../src/chains/solana';
import { MemoryJournal, newPurchaseId, startTestChain } from '../../helpers/solana-chain';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'solana-keys-'));

test('NFT mint keypair is sha256(seed:purchaseId) as the ed25519 seed: stable, and distinct per purchase and seed', () => {
  const a = deriveNftMintKeypair('seed-one-xx', 'purchase_1');
  expect(deriveNftMintKeypair('seed-one-xx', 'purchase_1').publicKey.equals(a.publicKey)).toBe(true);
  expect(deriveNftMintKeypair('seed-one-xx', 'purchase_2').publicKey.equals(a.publicKey)).toBe(false);
  expect(deriveNftMintKeypair('seed-two-xx', 'purchase_1').publicKey.equals(a.publicKey)).toBe(false);
  const expected = Keypair.fromSeed(createHash('sha256').update('seed-one-xx:purchase_1').digest());
  expect(a.publicKey.equals(expected.publicKey)).toBe(true);
});

test('isValidSolanaWallet wants an on-curve base58 key', () => {
  expect(isValidSolanaWallet(Keypair.generate().publicKey.toBase58())).toBe(true);
  expect(isValidSolanaWallet('')).toBe(false);
  expect(isValidSolanaWallet('1'.repeat(44))).toBe(false);
  expect(isValidSolanaWallet('0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl')).toBe(false);
});

test('loadTreasuryKeypair reads base58 or a CLI keypair file, and errors never carry the key', () => {
  const kp = Keypair.generate();
  const secret = bs58.encode(kp.secretKey);
  expect(loadTreasuryKeypair({ TREASURY_KEYPAIR: secret, treasuryKeypairPath: '/nonexistent' }).publicKey.equals(kp.publicKey)).toBe(true);
  const dir = tmp();
  const file = path.join(dir, 'k.json');
  fs.writeFileSync(file, JSON.stringify(Array.from(kp.secretKey)));
  expect(loadTreasuryKeypair({ TREASURY_KEYPAIR: undefined, treasuryKeypairPath: file }).publicKey.equals(kp.publicKey)).toBe(true);
  const truncated = secret.slice(0, 40);
  const err = (() => {
    try {
      loadTreasuryKeypair({ TREASURY_KEYPAIR: truncated, treasuryKeypairPath: file });
    } catch (e) {
      return e as Error;
    }
    return undefined;
  })();
  expect(err?.message).toMatch(/TREASURY_KEYPAIR/);
  expect(err?.message).not.toContain(truncated);
  expect(() => loadTreasuryKeypair({ TREASURY_KEYPAIR: undefined, treasuryKeypairPath: path.join(dir, 'missing.json') })).toThrow(
    /cannot read/,
  );
  fs.rmSync(dir, { recursive: true, force: true });
});

test('solanaRailFromConfig: USDC mint from bootstrap.json, treasury from the file, settles against the chain', async () => {
  const chain = await startTestChain({ faultInjection: false });
  try {
    const config = loadConfig({ DATA_DIR: chain.dataDir, SOLANA_RPC_URL: chain.rpcUrl, SOLANA_COMMITMENT: 'confirmed' });
    expect(resolveUsdcMint(config).equals(chain.usdcMint)).toBe(true);
    const explicit = Keypair.generate().publicKey.toBase58();
    expect(resolveUsdcMint({ ...config, USDC_MINT: explicit }).toBase58()).toBe(explicit);
    expect(() => resolveUsdcMint({ ...config, dataDir: tmp() })).toThrow(/USDC_MINT/);

    const rail = solanaRailFromConfig(config);
    await rail.ping();
    expect(await rail.treasuryBalanceMicroUsdc()).toBe(1_000_000_000_000n);
    const wallet = Keypair.generate().publicKey.toBase58();
    const result = await rail.settle(
      {
        purchaseId: newPurchaseId(),
        buyerWallet: Keypair.generate().publicKey.toBase58(),
        nft: { name: 'Cfg', symbol: 'C', uri: 'u' },
        payouts: [{ wallet, amountMicroUsdc: 5n }],
      },
      new MemoryJournal(),
    );
    expect(result.alreadySettled).toBe(false);
  } finally {
    await chain.destroy();
  }
});
