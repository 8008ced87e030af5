import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Keypair, PublicKey } from '@solana/web3.js';
import bs58 from 'bs58';
import type { Config } from '../../config';
import { BoundedMemo } from './derivations';

/**
 * The NFT mint keypair for a purchase: sha256(seed + ':' + purchaseId) as the ed25519 seed. Being
 * deterministic, a second landing of the same settlement fails on the already-existing mint account.
 */
export function deriveNftMintKeypair(nftMintSeed: string, purchaseId: string): Keypair {
  // Keypair.fromSeed is an ed25519 scalar multiplication in JavaScript; a settlement asks several times.
  return nftMintKeypairs.get(`${nftMintSeed}:${purchaseId}`, () =>
    Keypair.fromSeed(createHash('sha256').update(`${nftMintSeed}:${purchaseId}`, 'utf8').digest()),
  );
}
const nftMintKeypairs = new BoundedMemo<Keypair>(1_000);

/** An ed25519 public key on the curve: a PDA or random 32 bytes cannot sign for or own an NFT safely. */
export function isValidSolanaWallet(address: string): boolean {
  if (typeof address !== 'string' || address.length < 32 || address.length > 44) return false;
  return walletChecks.get(address, () => {
    try {
      const bytes = bs58.decode(address);
      return bytes.length === 32 && PublicKey.isOnCurve(bytes);
    } catch {
      return false;
    }
  });
}
const walletChecks = new BoundedMemo<boolean>(10_000);

function parseSecretKey(bytes: Uint8Array, source: string): Keypair {
  if (bytes.length !== 64) throw new Error(`treasury keypair from ${source} must be 64 bytes`);
  // fromSecretKey checks that the public half matches the private half.
  return Keypair.fromSecretKey(bytes);
}

/**
 * The treasury signer, from TREASURY_KEYPAIR (base58 secret key) or the Solana CLI JSON file at
 * treasuryKeypairPath. Error messages name the source only, never the key material.
 */
export function loadTreasuryKeypair(config: Pick<Config, 'TREASURY_KEYPAIR' | 'treasuryKeypairPath'>): Keypair {
  if (config.TREASURY_KEYPAIR !== undefined) {
    let bytes: Uint8Array;
    try {
      bytes = bs58.decode(config.TREASURY_KEYPAIR.trim());
    } catch {
      throw new Error('TREASURY_KEYPAIR is not base58');
    }
    return parseSecretKey(bytes, 'TREASURY_KEYPAIR');
  }
  const file = config.treasuryKeypairPath;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read treasury keypair file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'invalid JSON'}`);
  }
  if (!Array.isArray(raw) || !raw.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    throw new Error(`treasury keypair file ${file} is not a JSON array of bytes`);
  }
  return parseSecretKey(Uint8Array.from(raw as number[]), file);
}
