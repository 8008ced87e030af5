/**
 * The whole engine for a bench run, started from nothing and torn down at the end: embedded
 * PostgreSQL in a temp dir (migrated), stripe-mock behind the in-process dev Stripe, a Temporal dev server, the local Solana chain
 * over JSON-RPC, then the worker and the HTTP API in this process, wired exactly as
 * test/helpers/engine.ts wires them. Nothing here reads process.env: the one loadConfig() without
 * arguments only picks up TEMPORAL_CLI_PATH / STRIPE_MOCK_PATH overrides for locating the tools.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Keypair } from '@solana/web3.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import Stripe from 'stripe';
import type { ActivityDeps } from '../src/activities';
import { createApp } from '../src/api/app';
import { loadConfig, type Config } from '../src/config';
import { createDb, type Db } from '../src/db/client';
import { ensureLedgerAccounts, recordTreasuryFunding } from '../src/db/ledger';
import { freePort, waitForPort } from '../src/dev/net';
import { startEmbeddedPostgres } from '../src/dev/postgres';
import { startSolanaChain } from '../src/dev/solana-chain';
import { createDevStripeClient } from '../src/dev/dev-stripe/client';
import { startDevStripe } from '../src/dev/dev-stripe/server';
import { checkoutSessionCompleted, signedDelivery, type PaymentRefs } from '../src/dev/stripe-test-events';
import { PROJECT_ROOT, resolveTool, stripeMockArgs, stripeMockEnv } from '../src/dev/tools';
import { createLogger } from '../src/logger';
import { buildApiDeps } from '../src/server';
import { SEARCH_ATTRIBUTE_KEYS } from '../src/shared/search-attributes';
import { Rail } from '../src/shared/status';
import { buildActivityDeps, createWorker } from '../src/worker';

const execFileAsync = promisify(execFile);

export interface HarnessOptions {
  /** micro-USDC minted to the treasury on chain and booked in the ledger */
  treasuryMicroUsdc?: bigint;
  /** progress lines (setup and teardown steps with their durations) */
  log?: (line: string) => void;
  /** Receives the teardown as soon as setup begins, so a signal mid-setup can still stop what started. */
  onTeardown?: (close: () => Promise<void>) => void;
}

/** One HTTP API instance; `parked` starts purchase runs on a task queue no worker polls. */
export interface BenchApi {
  url: string;
  taskQueue: string;
}

export interface BenchEngine {
  config: Readonly<Config>;
  db: Db;
  stripe: Stripe;
  /** the API whose purchase runs the in-process worker executes */
  api: BenchApi;
  /**
   * A second API on the same database and Temporal server whose runs go to a task queue nobody
   * polls: webhooks through it pay the full acknowledgement cost (verify, store, start the run)
   * without queueing settlements that would load the machine during other measurements.
   */
  parked: BenchApi;
  adminHeaders: Record<string, string>;
  /** setup steps and their wall-clock seconds, in order */
  setupSeconds: { step: string; seconds: number }[];
  createProduct(): Promise<{ id: string; priceCents: string }>;
  checkout(api: BenchApi, productId: string): Promise<PaymentRefs>;
  /** A signed checkout.session.completed delivery, ready to POST (signing is not part of what is measured). */
  signedPayment(refs: PaymentRefs): { body: string; signature: string };
  close(): Promise<void>;
}

type Cleanup = { step: string; run: () => Promise<void> };

async function stopChild(child: ChildProcess, timeoutMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

export async function startBenchEngine(opts: HarnessOptions = {}): Promise<BenchEngine> {
  const log = opts.log ?? (() => {});
  const funding = opts.treasuryMicroUsdc ?? 1_000_000_000_000n;
  const cleanups: Cleanup[] = [];
  const setupSeconds: BenchEngine['setupSeconds'] = [];
  const inFlight = new Set<Promise<unknown>>();
  const step = <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = process.hrtime.bigint();
    const p = fn().then((value) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      setupSeconds.push({ step: name, seconds });
      log(`${name} (${seconds.toFixed(1)} s)`);
      return value;
    });
    inFlight.add(p);
    void p.then(() => inFlight.delete(p), () => inFlight.delete(p));
    return p;
  };

  let closing: Promise<void> | undefined;
  const runCleanups = async () => {
    // A signal can arrive mid-setup: let the steps still starting finish (or fail) so their processes
    // are registered, then stop everything in reverse start order, past any failing step.
    await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => setTimeout(r, 20_000).unref())]);
    for (const c of cleanups.reverse()) {
      try {
        await c.run();
      } catch (err) {
        log(`teardown: ${c.step} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };
  const close = () => (closing ??= runCleanups());

  opts.onTeardown?.(close);
  try {
    const host = loadConfig();
    const temporalCli = resolveTool('temporal', host.TEMPORAL_CLI_PATH, '');
    const stripeMockPath = resolveTool('stripe-mock', host.STRIPE_MOCK_PATH, '');
    if (!temporalCli || !stripeMockPath) throw new Error('the Temporal CLI or stripe-mock is missing from .tools/bin: run `npm run setup` (or set TEMPORAL_CLI_PATH / STRIPE_MOCK_PATH)');

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'settlement-bench-'));
    cleanups.push({ step: 'remove temp dir', run: async () => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }) });

    // Independent infrastructure starts in parallel; each registers its own cleanup as soon as it is up.
    const pgReady = step('postgres: initdb + start + migrate', async () => {
      const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: await freePort() });
      cleanups.push({ step: 'stop postgres', run: () => pg.stop() });
      await pg.createDatabase('settlement_bench');
      const url = pg.databaseUrl('settlement_bench');
      await execFileAsync(process.execPath, [path.join(PROJECT_ROOT, 'scripts/migrate.mjs'), 'deploy', url]);
      return url;
    });
    const stripeReady = step('stripe-mock + dev Stripe', async () => {
      const port = await freePort();
      const child = spawn(stripeMockPath, stripeMockArgs(port), { stdio: 'ignore', env: stripeMockEnv() });
      cleanups.push({ step: 'stop stripe-mock', run: () => stopChild(child) });
      await waitForPort(port);
      const devStripe = await startDevStripe({ upstream: `http://127.0.0.1:${port}` });
      cleanups.push({ step: 'stop dev Stripe', run: () => devStripe.close() });
      return devStripe.url;
    });
    const temporalReady = step('temporal dev server', async () => {
      try {
        // No shutdownSignals: the bench owns SIGINT/SIGTERM and stops the worker itself.
        Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
      } catch {
        // a runtime already exists in this process; keep it
      }
      const env = await TestWorkflowEnvironment.createLocal({
        server: { executable: { type: 'existing-path', path: temporalCli }, searchAttributes: SEARCH_ATTRIBUTE_KEYS },
      });
      cleanups.push({ step: 'stop temporal', run: () => env.teardown() });
      return env;
    });
    const chainDir = path.join(dir, 'data');
    const treasuryKeypairPath = path.join(chainDir, 'solana', 'treasury-keypair.json');
    const chainReady = step('solana local chain', async () => {
      const chain = await startSolanaChain({ port: 0, dataDir: chainDir, funding, faultInjection: false, treasuryKeypairPath });
      cleanups.push({ step: 'stop solana chain', run: () => chain.stop() });
      return chain;
    });
    const bundleReady = step('workflow bundle', () =>
      bundleWorkflowCode({ workflowsPath: path.join(PROJECT_ROOT, 'src/workflows'), logger: { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} } as never }),
    );
    const settled = await Promise.allSettled([pgReady, stripeReady, temporalReady, chainReady, bundleReady]);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const [databaseUrl, stripeBase, temporal, chain, bundle] = await Promise.all([pgReady, stripeReady, temporalReady, chainReady, bundleReady]);

    const env = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATA_DIR: chainDir,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: `settlement-bench-${process.pid}`,
      STRIPE_API_BASE: stripeBase,
      SOLANA_RPC_URL: chain.rpcUrl,
      TREASURY_KEYPAIR_PATH: treasuryKeypairPath,
      USDC_MINT: chain.usdcMint.toBase58(),
      TREASURY_RECHECK_INTERVAL: '1 hour',
      WORKER_METRICS_PORT: '0',
      // the load generator is one client creating hundreds of checkouts
      CHECKOUT_RATE_LIMIT: '0',
    };
    const config = loadConfig(env);
    const parkedConfig = loadConfig({ ...env, TEMPORAL_TASK_QUEUE: `settlement-bench-parked-${process.pid}` });

    const db = createDb(config.databaseUrl, { poolSize: 20 });
    cleanups.push({ step: 'disconnect bench db', run: () => db.$disconnect() });
    await ensureLedgerAccounts(db);
    await recordTreasuryFunding(db, { rail: Rail.Solana, amountMicro: funding, reference: `bootstrap:${chain.usdcMint.toBase58()}`, source: 'bootstrap' });

    const logger = createLogger({ level: config.LOG_LEVEL, name: 'bench' });

    const listen = async (cfg: Readonly<Config>, name: string): Promise<BenchApi> => {
      const deps = buildApiDeps(cfg, logger, temporal.client);
      const server: Server = await new Promise((resolve) => {
        const s = createApp(deps).listen(0, '127.0.0.1', () => resolve(s));
      });
      cleanups.push({
        step: `stop ${name} api`,
        run: async () => {
          server.closeAllConnections();
          await new Promise((r) => server.close(r));
          await deps.db.$disconnect();
        },
      });
      return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, taskQueue: cfg.TEMPORAL_TASK_QUEUE };
    };
    const api = await listen(config, 'main');
    const parked = await listen(parkedConfig, 'parked');

    const worker = await step('worker', async () => {
      const deps: ActivityDeps = buildActivityDeps(config, logger);
      const w: Worker = await createWorker({ connection: temporal.nativeConnection, config, deps, workflowBundle: bundle });
      const running = w.run();
      cleanups.push({
        step: 'stop worker',
        run: async () => {
          if (w.getState() === 'RUNNING') w.shutdown();
          await running;
          await deps.db.$disconnect();
        },
      });
      return w;
    });
    void worker;

    const stripe = new Stripe(config.STRIPE_SECRET_KEY);
    const devStripe = createDevStripeClient(stripeBase);
    const adminHeaders = { authorization: `Bearer ${config.ADMIN_TOKEN}` };
    const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

    return {
      config,
      db,
      stripe,
      api,
      parked,
      adminHeaders,
      setupSeconds,
      async createProduct() {
        const collaborators = [
          { wallet: Keypair.generate().publicKey.toBase58(), role: 'artist', shareBps: 6000 },
          { wallet: Keypair.generate().publicKey.toBase58(), role: 'producer', shareBps: 3000 },
          { wallet: Keypair.generate().publicKey.toBase58(), role: 'writer', shareBps: 1000 },
        ];
        const res = await post(`${api.url}/admin/products`, { title: 'Bench track', priceCents: '2500', rail: Rail.Solana, collaborators }, adminHeaders);
        if (res.status !== 201) throw new Error(`createProduct: ${res.status} ${await res.text()}`);
        return (await res.json()) as { id: string; priceCents: string };
      },
      async checkout(target, productId) {
        const res = await post(`${target.url}/api/checkout/sessions`, { productId, buyerWallet: Keypair.generate().publicKey.toBase58() });
        if (res.status !== 201) throw new Error(`checkout: ${res.status} ${await res.text()}`);
        const body = (await res.json()) as { purchaseId: string; checkoutSessionId: string };
        // The buyer pays at the dev Stripe now; the webhook is delivered when the bench says.
        const paid = await devStripe.pay(body.checkoutSessionId);
        return { purchaseId: body.purchaseId, checkoutSessionId: body.checkoutSessionId, paymentIntentId: paid.paymentIntentId, chargeId: paid.chargeId, amountCents: paid.amountCents };
      },
      signedPayment(refs) {
        return signedDelivery(stripe, config.STRIPE_WEBHOOK_SECRET, checkoutSessionCompleted(refs));
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
