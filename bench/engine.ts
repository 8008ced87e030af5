/**
 * The engine as `npm start` lays it out, for the bench: `startStack` with free ports and a
 * throwaway DATA_DIR (PostgreSQL, Temporal on its SQLite file, the dev Stripe + stripe-mock, the
 * Solana chain, anvil, the worker and the API, each its own process), plus three more processes
 * under the same supervisor:
 *   - a second API and its Stripe-event actor on their own database of the same PostgreSQL
 *     ("parked"), whose purchase runs go to a task queue no worker polls: webhooks through it pay
 *     the whole acknowledgement (verify, store) and the actor the acting on it (start the run), as
 *     the engine's API and worker do, without queueing settlements that would load the machine
 *     while the acknowledgement is measured;
 *   - the baseline worker (bench/baseline), on its own task queue of the same Temporal server;
 *   - with `workers` > 1, more engine workers (`worker-2`, …) polling the engine's task queue, for
 *     what scaling out the workers gives on the same Temporal server.
 * This process only drives: it creates checkouts, pays them at the dev Stripe and signs webhooks.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Keypair } from '@solana/web3.js';
import { Client, Connection } from '@temporalio/client';
import Stripe from 'stripe';
import { childProcessEnv, loadConfig, type Config } from '../src/config';
import { createDb, type Db } from '../src/db/client';
import { createDevStripeClient } from '../dev/dev-stripe/client';
import { freePort, freeStackPorts } from '../dev/net';
import { startStack, workerProcess, type Stack } from '../dev/stack';
import { checkoutSessionCompleted, newPaymentIntentId, signedDelivery, type PaymentRefs } from '../dev/stripe-test-events';
import { PROJECT_ROOT } from '../dev/tools';
import { Rail } from '../src/shared/status';
import { BASELINE_TASK_QUEUE_VARIABLE } from './baseline/worker';
import { postmasterPid } from './proc';

const PARKED_TASK_QUEUE = 'bench-parked';
const PARKED_DATABASE = 'bench_parked';
export const BASELINE_TASK_QUEUE = 'bench-baseline';

export interface EngineOptions {
  /** purchases above this wait for an operator: the bench's parked workflows */
  approvalThresholdCents: bigint;
  log: (line: string) => void;
  /** the stack's own lines (child output, restarts) */
  stackLog: (line: string) => void;
  /** engine worker processes on the engine's task queue (the stack starts one) */
  workers: number;
  /** the local chain's slot length, ms */
  slotMs: number;
}

export interface BenchEngine {
  config: Readonly<Config>;
  stack: Stack;
  dataDir: string;
  db: Db;
  temporal: Client;
  apiUrl: string;
  /** the parked API: its own database, runs started on a task queue nobody polls */
  parkedApiUrl: string;
  /** Stripe events the parked side has stored and not yet acted on (its actor's backlog) */
  parkedBacklog(): Promise<number>;
  /** the processes whose CPU is read, by name; PostgreSQL's includes its backends */
  processes(): Map<string, { pid: number; withChildren: boolean }>;
  /** a product at the engine's API, or at the parked API's database with `parked` */
  createProduct(priceCents: bigint, parked?: boolean): Promise<string>;
  /**
   * A checkout, paid at the dev Stripe unless `pay` is false (for webhooks to the parked API,
   * whose runs never reach Stripe: the acknowledgement itself never calls it). The webhook is
   * delivered when the bench says.
   */
  checkout(productId: string, pay?: boolean): Promise<PaymentRefs>;
  /** A signed checkout.session.completed delivery, ready to POST (signing is not measured). */
  signedPayment(refs: PaymentRefs): { body: string; signature: string };
  close(): Promise<void>;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** True once a worker polls the task queue's workflow tasks. */
async function hasPoller(client: Client, namespace: string, taskQueue: string): Promise<boolean> {
  const res = await client.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue }, taskQueueType: 1 });
  return (res.pollers ?? []).length > 0;
}

export async function startBenchEngine(opts: EngineOptions): Promise<BenchEngine> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'settlement-bench-'));
  const env: Record<string, string> = {
    ...(await freeStackPorts()),
    DATA_DIR: dataDir,
    WORKER_METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
    APPROVAL_THRESHOLD_CENTS: opts.approvalThresholdCents.toString(),
    // One driver stands in for many buyers: the per-client checkout limit would throttle it.
    CHECKOUT_RATE_LIMIT: '0',
    SOLANA_SLOT_MS: String(opts.slotMs),
  };
  const config = loadConfig(childProcessEnv(env));
  opts.log(`starting the stack in ${dataDir} (API :${config.PORT}, Temporal :${config.TEMPORAL_PORT})`);
  const t0 = Date.now();
  const stack = await startStack(config, {
    env,
    log: opts.stackLog,
    onStopped: () => {
      opts.log('interrupted: the stack is stopped');
      fs.rmSync(dataDir, { recursive: true, force: true });
      process.exit(130);
    },
  });
  const closeAll: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of closeAll.reverse()) await c().catch(() => undefined);
    await stack.stop();
    fs.rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  };
  try {
    const childEnv = (extra: Record<string, string>) => childProcessEnv({ ...stack.env, ...extra, DATA_DIR: dataDir });
    // The parked side's own database: the engine worker's actor must not take its events.
    if (!stack.pg) throw new Error('the bench runs on the embedded PostgreSQL (leave DATABASE_URL unset)');
    await stack.pg.createDatabase(PARKED_DATABASE);
    const parkedDatabaseUrl = stack.pg.databaseUrl(PARKED_DATABASE);
    execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'migrate.mjs'), 'deploy', parkedDatabaseUrl], { stdio: 'ignore' });
    const parkedEnv = childEnv({
      DATABASE_URL: parkedDatabaseUrl,
      TEMPORAL_TASK_QUEUE: PARKED_TASK_QUEUE,
      STRIPE_EVENTS_ACTED_ON_BY: 'separate',
    });
    const parkedPort = await freePort();
    await stack.supervisor.start({
      name: 'api-parked',
      command: process.execPath,
      args: [path.join(PROJECT_ROOT, 'dist', 'server.js')],
      env: { ...parkedEnv, PORT: String(parkedPort) },
      ready: () => waitFor('parked API', async () => (await fetch(`http://127.0.0.1:${parkedPort}/healthz`)).ok, 60_000),
    });
    await stack.supervisor.start({
      name: 'actor-parked',
      command: process.execPath,
      args: [path.join(PROJECT_ROOT, 'dist', 'stripe-event-actor.js')],
      env: parkedEnv,
    });
    for (let i = 2; i <= opts.workers; i += 1) {
      await stack.supervisor.start({ name: `worker-${i}`, ...workerProcess(childEnv({})) });
    }
    await stack.supervisor.start({
      name: 'baseline-worker',
      command: process.execPath,
      args: ['--import', 'tsx', path.join(PROJECT_ROOT, 'bench', 'baseline', 'worker.ts')],
      env: childEnv({ [BASELINE_TASK_QUEUE_VARIABLE]: BASELINE_TASK_QUEUE }),
    });
    const connection = await Connection.connect({ address: config.temporalAddress });
    closeAll.push(() => connection.close());
    const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    await waitFor('engine worker', () => hasPoller(temporal, config.TEMPORAL_NAMESPACE, config.TEMPORAL_TASK_QUEUE), 120_000);
    await waitFor('baseline worker', () => hasPoller(temporal, config.TEMPORAL_NAMESPACE, BASELINE_TASK_QUEUE), 180_000);
    opts.log(`stack up (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

    const db = createDb(stack.env.DATABASE_URL ?? config.databaseUrl, { poolSize: 4 });
    closeAll.push(() => db.$disconnect());
    const parkedDb = createDb(parkedDatabaseUrl, { poolSize: 1 });
    closeAll.push(() => parkedDb.$disconnect());
    const stripe = new Stripe(config.STRIPE_SECRET_KEY);
    const devStripe = createDevStripeClient(stack.env.STRIPE_API_BASE ?? `http://127.0.0.1:${config.STRIPE_MOCK_PORT}`);
    const apiUrl = `http://127.0.0.1:${config.PORT}`;
    const parkedApiUrl = `http://127.0.0.1:${parkedPort}`;
    const apiOf = new Map<string, string>();
    const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const pgDir = path.join(dataDir, 'postgres');
    const priceOf = new Map<string, bigint>();
    return {
      config,
      stack,
      dataDir,
      db,
      temporal,
      apiUrl,
      parkedApiUrl,
      parkedBacklog: () => parkedDb.webhookEvent.count({ where: { processedAt: null } }),
      processes() {
        const out = new Map<string, { pid: number; withChildren: boolean }>();
        const workers = Array.from({ length: opts.workers - 1 }, (_, i) => `worker-${i + 2}`);
        for (const name of [
          'api',
          'worker',
          ...workers,
          'temporal',
          'solana',
          'dev-stripe',
          'stripe-mock',
          'anvil',
          'baseline-worker',
          'api-parked',
          'actor-parked',
        ]) {
          const pid = stack.supervisor.pid(name);
          if (pid !== undefined) out.set(name, { pid, withChildren: false });
        }
        const pg = postmasterPid(pgDir);
        if (pg !== undefined) out.set('postgres', { pid: pg, withChildren: true });
        return out;
      },
      async createProduct(priceCents, parked = false) {
        const base = parked ? parkedApiUrl : apiUrl;
        const collaborators = [
          { wallet: Keypair.generate().publicKey.toBase58(), role: 'artist', shareBps: 6000 },
          { wallet: Keypair.generate().publicKey.toBase58(), role: 'producer', shareBps: 3000 },
          { wallet: Keypair.generate().publicKey.toBase58(), role: 'writer', shareBps: 1000 },
        ];
        const res = await post(
          `${base}/admin/products`,
          { title: `Bench track ${priceCents}`, priceCents: priceCents.toString(), rail: Rail.Solana, collaborators },
          { authorization: `Bearer ${config.ADMIN_TOKEN}` },
        );
        if (res.status !== 201) throw new Error(`createProduct: ${res.status} ${await res.text()}`);
        const id = ((await res.json()) as { id: string }).id;
        priceOf.set(id, priceCents);
        apiOf.set(id, base);
        return id;
      },
      async checkout(productId, pay = true) {
        const res = await post(`${apiOf.get(productId) ?? apiUrl}/api/checkout/sessions`, {
          productId,
          buyerWallet: Keypair.generate().publicKey.toBase58(),
        });
        if (res.status !== 201) throw new Error(`checkout: ${res.status} ${await res.text()}`);
        const body = (await res.json()) as { purchaseId: string; checkoutSessionId: string };
        if (!pay)
          return {
            purchaseId: body.purchaseId,
            checkoutSessionId: body.checkoutSessionId,
            paymentIntentId: newPaymentIntentId(),
            amountCents: priceOf.get(productId) ?? 0n,
          };
        const paid = await devStripe.pay(body.checkoutSessionId);
        return {
          purchaseId: body.purchaseId,
          checkoutSessionId: body.checkoutSessionId,
          paymentIntentId: paid.paymentIntentId,
          chargeId: paid.chargeId,
          amountCents: paid.amountCents,
        };
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
