/**
 * `npm run audit`: prove the books against the chain, read-only. Reads the engine's own settings
 * (DATABASE_URL, SOLANA_RPC_URL, TREASURY_KEYPAIR[_PATH], USDC_MINT, EVM_RPC_URL, EVM_* addresses,
 * TEMPORAL_*), prints the findings, and exits 1 when there are any (0 when clean, 2 when it could
 * not run).
 */
import { parseArgs } from 'node:util';
import { Connection } from '@solana/web3.js';
import type { Config } from '../config';
import { loadConfig } from '../config';
import { createEvmAuditReader } from '../chains/evm/audit-reader';
import { defaultDeploymentsFile, readEvmDeployment } from '../chains/evm/deployments';
import { connectProvider } from '../chains/evm/provider';
import { createSolanaAuditReader } from '../chains/solana/audit-reader';
import { loadTreasuryKeypair, resolveUsdcMint, timeoutFetch } from '../chains/solana';
import { createAuditBooksReader } from '../db/audit';
import { connectTemporalClient, createDb } from '../runtime';
import { RUNNING_PURCHASE_RUNS } from '../services/workflow-ops/query';
import { purchaseIdFromWorkflowId } from '../shared/ids';
import { formatAuditReport, runAudit } from './run';
import { TREASURY_RAILS, type ChainAuditReader, type TreasuryRail } from './types';

const USAGE = `usage: npm run audit -- [--json] [--rail solana|evm]... [--no-temporal] [--stalled-after-minutes <n>]

  Proves the books (PostgreSQL) against the chains, read-only. Exit 0: clean; 1: findings; 2: could not run.
  --json                      the AuditReport as JSON on stdout
  --rail <rail>               also prove this rail when the books do not use it (repeatable)
  --no-temporal               do not check that non-terminal purchases have an open Temporal run
  --stalled-after-minutes <n> in-flight purchases older than this are reported (default STUCK_AFTER_MINUTES)
`;

/** A reader whose connection is made on first use, so an unused rail needs no reachable RPC. */
function lazyReader(rail: TreasuryRail, build: () => Promise<ChainAuditReader>): ChainAuditReader {
  let reader: Promise<ChainAuditReader> | undefined;
  const get = () => (reader ??= build());
  return {
    rail,
    normaliseWallet: (w) => (rail === 'evm' ? w.toLowerCase() : w),
    treasuryWallet: async () => (await get()).treasuryWallet(),
    treasuryBalanceMicroUsdc: async () => (await get()).treasuryBalanceMicroUsdc(),
    observeSettlements: async (s) => (await get()).observeSettlements(s),
    treasuryOutflows: async () => (await get()).treasuryOutflows(),
  };
}

export function chainReadersFromConfig(
  config: Readonly<Config>,
  onClose: (fn: () => void) => void,
): Record<TreasuryRail, ChainAuditReader> {
  return {
    solana: lazyReader('solana', async () =>
      createSolanaAuditReader({
        connection: new Connection(config.solanaRpcUrl, {
          commitment: 'confirmed',
          disableRetryOnRateLimit: false,
          fetch: timeoutFetch(30_000),
        }),
        treasury: loadTreasuryKeypair(config).publicKey,
        usdcMint: resolveUsdcMint(config),
        commitment: config.SOLANA_COMMITMENT === 'finalized' ? 'finalized' : 'confirmed',
      }),
    ),
    evm: lazyReader('evm', async () => {
      const provider = await connectProvider(config.evmRpcUrl);
      onClose(() => provider.destroy());
      const chainId = Number((await provider.getNetwork()).chainId);
      const deployment = readEvmDeployment(defaultDeploymentsFile(chainId, config.dataDir));
      const splitter = config.EVM_SPLITTER_ADDRESS ?? deployment?.splitter;
      const usdc = config.EVM_USDC_ADDRESS ?? deployment?.usdc;
      if (!splitter || !usdc) throw new Error(`no EVM deployment for chain ${chainId}: set EVM_SPLITTER_ADDRESS and EVM_USDC_ADDRESS`);
      return createEvmAuditReader({
        provider,
        splitter,
        usdc,
        fromBlock: deployment?.splitter === splitter ? deployment.splitterBlock : 0,
      });
    }),
  };
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean' },
        rail: { type: 'string', multiple: true },
        'no-temporal': { type: 'boolean' },
        'stalled-after-minutes': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const requested = (values.rail ?? []).map((r) => r.toLowerCase());
  const rails = TREASURY_RAILS.filter((r) => requested.includes(r));
  const unknownRail = requested.find((r) => !rails.some((known) => known === r));
  if (unknownRail) {
    process.stderr.write(`unknown rail ${unknownRail}\n\n${USAGE}`);
    return 2;
  }
  const stalledMinutes = values['stalled-after-minutes'];
  if (stalledMinutes !== undefined && !/^\d+$/.test(stalledMinutes)) {
    process.stderr.write(`--stalled-after-minutes must be a whole number\n\n${USAGE}`);
    return 2;
  }

  const config = loadConfig();
  const db = createDb(config.databaseUrl, { poolSize: 2 });
  const closers: (() => void | Promise<void>)[] = [() => db.$disconnect()];
  try {
    let openPurchaseRuns: (() => Promise<ReadonlySet<string>>) | undefined;
    if (!values['no-temporal']) {
      try {
        const client = await withTimeout(connectTemporalClient(config), 10_000, `Temporal at ${config.temporalAddress}`);
        closers.push(() => client.connection.close());
        openPurchaseRuns = async () => {
          const open = new Set<string>();
          for await (const wf of client.workflow.list({ query: RUNNING_PURCHASE_RUNS })) {
            const id = purchaseIdFromWorkflowId(wf.workflowId);
            if (id) open.add(id);
          }
          return open;
        };
      } catch (err) {
        process.stderr.write(`audit: Temporal not reachable (${(err as Error).message}); purchase runs judged from status rows only\n`);
      }
    }
    const report = await runAudit({
      books: createAuditBooksReader(db),
      chains: chainReadersFromConfig(config, (fn) => closers.push(fn)),
      rails,
      openPurchaseRuns,
      stalledAfterMs: (stalledMinutes !== undefined ? Number(stalledMinutes) : config.STUCK_AFTER_MINUTES) * 60_000,
    });
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatAuditReport(report));
    return report.ok ? 0 : 1;
  } catch (err) {
    process.stderr.write(`audit could not run: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  } finally {
    for (const close of closers.reverse()) await Promise.resolve(close()).catch(() => undefined);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`audit failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    },
  );
}
