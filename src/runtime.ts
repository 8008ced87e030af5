/**
 * Builds the real dependencies from config. Only entry points (worker, server, ops CLI, demo) call
 * this; everything below them receives dependencies by injection.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import Stripe from 'stripe';
import type { Config } from './config';
import { evmRailFromConfig } from './chains/evm/rail';
import type { SettlementRail } from './chains/rail';
import { loadTreasuryKeypair, resolveUsdcMint, solanaConnection, solanaRailFromConfig } from './chains/solana';
import { createSolanaAnchorRail, programIdFromConfig } from './chains/solana-anchor';
import { createDb } from './db/client';
import { Rail } from './shared/status';

export function createStripe(config: Readonly<Config>): Stripe {
  const base = config.STRIPE_API_BASE ? new URL(config.STRIPE_API_BASE) : undefined;
  return new Stripe(config.STRIPE_SECRET_KEY, {
    maxNetworkRetries: 2,
    timeout: 15_000,
    ...(base
      ? {
          host: base.hostname,
          port: Number(base.port || (base.protocol === 'https:' ? 443 : 80)),
          protocol: base.protocol.replace(':', '') as 'http' | 'https',
        }
      : {}),
  });
}

/** The rails this process can reach; a rail that is not configured is left out with a log line. */
export function createRails(config: Readonly<Config>, logger: Logger): Partial<Record<Rail, SettlementRail>> {
  const rails: Partial<Record<Rail, SettlementRail>> = {};
  try {
    rails[Rail.Solana] = solanaRailFromConfig(config, logger.child({ rail: 'solana' }));
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'solana rail not configured');
  }
  // In production only when EVM_RPC_URL names a chain; dev and tests default to the local anvil.
  if (config.evmConfigured) rails[Rail.Evm] = evmRailFromConfig(config, logger.child({ rail: 'evm' }));
  const solana = rails[Rail.Solana];
  if (config.settlementProgramId !== undefined && solana) {
    // Only where the Anchor program is deployed; products choose it with rail "solana-anchor".
    rails[Rail.SolanaAnchor] = createSolanaAnchorRail({
      connection: solanaConnection(config.solanaRpcUrl, { commitment: config.SOLANA_COMMITMENT }),
      wsUrl: config.SOLANA_WS_URL,
      subscribeSignatures: true,
      treasury: loadTreasuryKeypair(config),
      programId: programIdFromConfig(config),
      usdcMint: resolveUsdcMint(config),
      commitment: config.SOLANA_COMMITMENT,
      computeUnitLimit: config.COMPUTE_UNIT_LIMIT,
      priorityFeeCapMicroLamports: config.PRIORITY_FEE_CAP_MICROLAMPORTS,
    });
  }
  return rails;
}

const temporalTls = (config: Readonly<Config>) => (config.TEMPORAL_TLS || config.TEMPORAL_API_KEY ? {} : undefined);

export async function connectTemporalClient(config: Readonly<Config>): Promise<Client> {
  const connection = await Connection.connect({
    address: config.temporalAddress,
    tls: temporalTls(config),
    apiKey: config.TEMPORAL_API_KEY,
  });
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
}

export function connectTemporalWorker(config: Readonly<Config>): Promise<NativeConnection> {
  return NativeConnection.connect({ address: config.temporalAddress, tls: temporalTls(config), apiKey: config.TEMPORAL_API_KEY });
}

export { createDb };
