import fs from 'node:fs';
import path from 'node:path';
import { PublicKey } from '@solana/web3.js';
import type { Config } from '../../config';
import { createSolanaRail, type SolanaRail, type SolanaRailLogger } from './rail';
import { loadTreasuryKeypair } from './keys';

export {
  createSolanaRail,
  solanaConnection,
  timeoutFetch,
  MAX_SOLANA_PAYOUTS,
  type SolanaRail,
  type SolanaRailDeps,
  type SolanaRailLogger,
} from './rail';
export { deriveNftMintKeypair, isValidSolanaWallet, loadTreasuryKeypair } from './keys';

/** USDC_MINT when set; otherwise the mint the local chain's dev bootstrap created. */
export function resolveUsdcMint(config: Pick<Config, 'USDC_MINT' | 'dataDir'>): PublicKey {
  if (config.USDC_MINT !== undefined) return new PublicKey(config.USDC_MINT);
  const file = path.join(config.dataDir, 'solana', 'bootstrap.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    throw new Error(`USDC_MINT is unset and ${file} is missing: start the local chain or set USDC_MINT`);
  }
  const mint = (parsed as { usdcMint?: unknown }).usdcMint;
  if (typeof mint !== 'string') throw new Error(`${file} has no usdcMint`);
  return new PublicKey(mint);
}

export function solanaRailFromConfig(config: Readonly<Config>, logger?: SolanaRailLogger): SolanaRail {
  return createSolanaRail({
    rpcUrl: config.solanaRpcUrl,
    wsUrl: config.SOLANA_WS_URL,
    subscribeSignatures: true,
    commitment: config.SOLANA_COMMITMENT,
    treasury: loadTreasuryKeypair(config),
    usdcMint: resolveUsdcMint(config),
    nftMintSeed: config.NFT_MINT_SEED,
    priorityFeeCapMicroLamports: config.PRIORITY_FEE_CAP_MICROLAMPORTS,
    computeUnitLimit: config.COMPUTE_UNIT_LIMIT,
    logger,
  });
}
