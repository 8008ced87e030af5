/**
 * The whole engine for an end-to-end test file: a fresh database, a real Temporal dev server, the
 * local Solana chain (Surfpool, behind the fault proxy), the dev Stripe, the worker and the HTTP API on a real port. Tests
 * drive it only through HTTP and signed webhooks, like Stripe and the frontend do; the buyer's card and
 * the bank act at the dev Stripe (`devStripe`), whose events the tests deliver. With `evm`, a
 * throwaway anvil carries the EVM rail too: the contracts are deployed into the chain's DATA_DIR,
 * where evmRailFromConfig finds the deployments file. With `anchor`, the settlement program's SBF build
 * is deployed into the chain as `npm start` deploys it, and the solana-anchor rail is wired to it.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { Keypair } from '@solana/web3.js';
import { Wallet } from 'ethers';
import Stripe from 'stripe';
import { createApp } from '../../src/api/app';
import { createHttpServer } from '../../src/api/http-server';
import { deployEvmContracts, DEFAULT_LOCAL_TREASURY_FUNDING_MICRO_USDC, type EvmDeployment } from '../../src/chains/evm/deploy';
import { loadConfig, type Config } from '../../src/config';
import type { Db } from '../../src/db/client';
import { recordTreasuryFunding } from '../../src/db/ledger';
import { createDevStripeClient, eventOf, type DevStripeClient } from '../../dev/dev-stripe/client';
import { deploySettlementProgram } from '../../dev/surfpool/deploy';
import { SETTLEMENT_PROGRAM_SO } from '../../dev/tools';
import { signedDelivery, type PaymentRefs } from '../../dev/stripe-test-events';
import { createLogger } from '../../src/logger';
import { buildApiDeps } from '../../src/server';
import { Rail } from '../../src/shared/status';
import { startStripeEventActor } from '../../src/stripe-event-actor';
import { buildActivityDeps, createWorker } from '../../src/worker';
import type { ActivityDeps } from '../../src/activities';
import { startAnvil, type Anvil } from './anvil';
import { eventOutcome, freshDb } from './db';
import { startTestChain, type TestChain } from './solana-chain';
import { startTemporal, workflowBundle } from './temporal';

export interface EngineOptions {
  env?: Record<string, string>;
  /** micro-USDC minted to the treasury on chain and booked in the ledger */
  treasuryMicroUsdc?: bigint;
  /** book a different amount in the ledger than on chain (planted mismatch) */
  ledgerTreasuryMicroUsdc?: bigint;
  /** wrap the activity dependencies, e.g. to fail a call on purpose */
  activityDeps?: (deps: ActivityDeps) => ActivityDeps;
  /** Also run the EVM rail on a throwaway anvil; treasuryMicroUsdc is minted on chain and booked in the ledger. */
  evm?: boolean | { treasuryMicroUsdc?: bigint };
  /** Deploy programs/settlement's SBF build into the chain and wire the solana-anchor rail to it. */
  anchor?: boolean;
}

export interface EngineEvm {
  anvil: Anvil;
  deployment: EvmDeployment;
  /** micro-USDC minted to the EVM treasury and booked as `treasury:evm`. */
  treasuryMicroUsdc: bigint;
}

export interface Engine {
  config: Readonly<Config>;
  db: Db;
  temporal: TestWorkflowEnvironment;
  chain: TestChain;
  /** Set when started with `evm`. */
  evm?: EngineEvm;
  stripe: Stripe;
  /** the dev Stripe's control surface, reached directly (not through a proxy set in `env`) */
  devStripe: DevStripeClient;
  url: string;
  adminHeaders: Record<string, string>;
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  createProduct(
    body?: Partial<ProductBody>,
  ): Promise<{ id: string; priceCents: string; collaborators: { wallet: string; role: string; shareBps: number }[] }>;
  /** Checkout through the API, then the buyer pays at the dev Stripe; the webhooks are the test's to deliver. */
  checkout(productId: string, buyerWallet?: string): Promise<CheckoutRefs>;
  deliver(event: Stripe.Event, opts?: { timestampSec?: number; secret?: string }): Promise<Response>;
  /** Waits until the API has acted on a delivered event (the webhook answers once it is stored); its outcome. */
  outcome(eventId: string, timeoutMs?: number): Promise<string>;
  /** Delivers the dev Stripe's checkout.session.completed for this payment. */
  pay(refs: CheckoutRefs): Promise<Response>;
  purchase(purchaseId: string): Promise<PurchaseView>;
  waitForStatus(purchaseId: string, statuses: string[], timeoutMs?: number): Promise<PurchaseView>;
  http(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

interface CheckoutRefs extends PaymentRefs {
  buyerWallet: string;
  chargeId: string;
  feeCents: bigint;
  /** the events the dev Stripe produced for the payment */
  events: Stripe.Event[];
}

interface ProductBody {
  title: string;
  priceCents: string;
  rail: string;
  collaborators: { wallet: string; role: string; shareBps: number }[];
}

export interface PurchaseView {
  purchaseId: string;
  status: string;
  grossCents: string | null;
  stripeFeeCents: string | null;
  netCents: string | null;
  platformFeeCents: string | null;
  creatorPoolMicroUsdc: string | null;
  payouts: { wallet: string; role: string; shareBps: number; amountMicroUsdc: string | null }[];
  settlement: { rail: string; txId: string | null; nftId: string | null };
  failure: { type: string; message: string } | null;
  updatedAt: string;
}

let queueCounter = 0;

export async function startEngine(opts: EngineOptions = {}): Promise<Engine> {
  const { db, url: databaseUrl } = await freshDb();
  const funding = opts.treasuryMicroUsdc ?? 1_000_000_000_000n;
  const chain = await startTestChain({ funding });
  const program = opts.anchor ? await deploySettlementProgram(chain.surfpoolRpcUrl, SETTLEMENT_PROGRAM_SO) : undefined;
  const temporal = await startTemporal();
  const evmOpts = opts.evm ? (opts.evm === true ? {} : opts.evm) : undefined;
  const anvil = evmOpts ? await startAnvil() : undefined;
  const stripeBase = process.env.TEST_STRIPE_API_BASE;
  if (!stripeBase) throw new Error('TEST_STRIPE_API_BASE is unset: run through jest');
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: chain.dataDir,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: `settlement-test-${process.pid}-${queueCounter++}`,
    STRIPE_API_BASE: stripeBase,
    SOLANA_RPC_URL: chain.rpcUrl,
    TREASURY_KEYPAIR_PATH: path.join(chain.dataDir, 'solana', 'treasury-keypair.json'),
    USDC_MINT: chain.usdcMint.toBase58(),
    TREASURY_RECHECK_INTERVAL: '1 hour',
    // Tests drive many requests from one address; test/api/abuse-limits.test.ts turns the limits on.
    CHECKOUT_RATE_LIMIT: '0',
    ADMIN_AUTH_FAILURE_LIMIT: '0',
    ...(anvil ? { EVM_RPC_URL: anvil.rpcUrl, EVM_PRIVATE_KEY: anvil.keys[0] ?? '' } : {}),
    ...(program ? { SETTLEMENT_PROGRAM_ID: program.programId.toBase58() } : {}),
    ...opts.env,
  });
  await recordTreasuryFunding(db, {
    rail: Rail.Solana,
    amountMicro: opts.ledgerTreasuryMicroUsdc ?? funding,
    reference: `bootstrap:${chain.usdcMint.toBase58()}`,
    source: 'bootstrap',
  });
  let evm: EngineEvm | undefined;
  if (anvil && evmOpts) {
    try {
      // The configured key deploys, holds the treasury and settles: the single dev key, as in `npm run dev`.
      const treasuryMicroUsdc = evmOpts.treasuryMicroUsdc ?? DEFAULT_LOCAL_TREASURY_FUNDING_MICRO_USDC;
      const deployment = await deployEvmContracts({
        rpcUrl: anvil.rpcUrl,
        deployerKey: config.EVM_PRIVATE_KEY,
        dataDir: config.dataDir,
        treasuryFundingMicroUsdc: treasuryMicroUsdc,
      });
      await recordTreasuryFunding(db, {
        rail: Rail.Evm,
        amountMicro: treasuryMicroUsdc,
        reference: `bootstrap:evm:${deployment.chainId}:${deployment.usdc}`,
        source: 'bootstrap',
      });
      evm = { anvil, deployment, treasuryMicroUsdc };
    } catch (err) {
      await anvil.stop();
      throw err;
    }
  }

  const logger = createLogger({ level: config.LOG_LEVEL, name: 'test' });
  const bundle = await workflowBundle();
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  let activityDeps: ActivityDeps | undefined;

  const api = buildApiDeps(config, logger, temporal.client);
  const app = createApp(api);
  // The webhook outbox runs where STRIPE_EVENTS_ACTED_ON_BY puts it: here, or beside the worker.
  const stopOutbox = api.events.actOnReceipt ? api.events.startOutbox() : () => Promise.resolve();
  let stopEventActor: (() => Promise<void>) | undefined;
  const server: Server = await new Promise((resolve) => {
    const s = createHttpServer(app).listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stripe = new Stripe(config.STRIPE_SECRET_KEY);
  const devStripe = createDevStripeClient(stripeBase);
  const adminHeaders = { authorization: `Bearer ${config.ADMIN_TOKEN}` };

  const http = (method: string, p: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${p}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });

  const engine: Engine = {
    config,
    db,
    temporal,
    chain,
    evm,
    stripe,
    devStripe,
    url,
    adminHeaders,
    http,
    async startWorker() {
      if (worker) return;
      activityDeps = buildActivityDeps(config, logger);
      const deps = opts.activityDeps ? opts.activityDeps(activityDeps) : activityDeps;
      worker = await createWorker({ connection: temporal.nativeConnection, config, deps, workflowBundle: bundle });
      running = worker.run();
      if (config.STRIPE_EVENTS_ACTED_ON_BY === 'worker') stopEventActor = startStripeEventActor(config, logger, temporal.client);
    },
    async stopWorker() {
      if (!worker) return;
      await stopEventActor?.();
      stopEventActor = undefined;
      worker.shutdown();
      await running;
      await activityDeps?.db.$disconnect();
      worker = undefined;
      running = undefined;
    },
    async createProduct(body = {}) {
      const wallet = () => (body.rail === Rail.Evm ? Wallet.createRandom().address : Keypair.generate().publicKey.toBase58());
      const collaborators = body.collaborators ?? [
        { wallet: wallet(), role: 'artist', shareBps: 6000 },
        { wallet: wallet(), role: 'producer', shareBps: 3000 },
        { wallet: wallet(), role: 'writer', shareBps: 1000 },
      ];
      const res = await http(
        'POST',
        '/admin/products',
        { title: 'Test track', priceCents: '2500', rail: 'solana', ...body, collaborators },
        adminHeaders,
      );
      if (res.status !== 201) throw new Error(`createProduct: ${res.status} ${await res.text()}`);
      return (await res.json()) as Awaited<ReturnType<Engine['createProduct']>>;
    },
    async checkout(productId, wallet) {
      // Without a wallet, a fresh one for the product's rail (Solana unless the product says EVM).
      const buyerWallet =
        wallet ??
        ((await db.product.findUnique({ where: { id: productId } }))?.rail === Rail.Evm
          ? Wallet.createRandom().address
          : Keypair.generate().publicKey.toBase58());
      const res = await http('POST', '/api/checkout/sessions', { productId, buyerWallet });
      if (res.status !== 201) throw new Error(`checkout: ${res.status} ${await res.text()}`);
      const body = (await res.json()) as { purchaseId: string; checkoutSessionId: string };
      const paid = await devStripe.pay(body.checkoutSessionId);
      return { purchaseId: body.purchaseId, buyerWallet, ...paid };
    },
    async deliver(evt, o = {}) {
      const { body, signature } = signedDelivery(stripe, o.secret ?? config.STRIPE_WEBHOOK_SECRET, evt, o.timestampSec);
      return http('POST', '/webhooks/stripe', body, { 'stripe-signature': signature });
    },
    pay(refs) {
      return engine.deliver(eventOf(refs.events, 'checkout.session.completed'));
    },
    outcome: (eventId, timeoutMs) => eventOutcome(db, eventId, timeoutMs),
    async purchase(purchaseId) {
      const res = await http('GET', `/api/purchases/${purchaseId}`);
      if (res.status !== 200) throw new Error(`purchase ${purchaseId}: ${res.status} ${await res.text()}`);
      return (await res.json()) as PurchaseView;
    },
    async waitForStatus(purchaseId, statuses, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let last: PurchaseView | undefined;
      while (Date.now() < deadline) {
        last = await engine.purchase(purchaseId);
        if (statuses.includes(last.status)) return last;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`purchase ${purchaseId} is ${last?.status ?? 'unknown'} after ${timeoutMs} ms, expected ${statuses.join('|')}`);
    },
    async close() {
      await engine.stopWorker();
      await new Promise((r) => server.close(r));
      await stopOutbox();
      await api.changeFeed.close();
      await api.db.$disconnect();
      await temporal.teardown();
      await chain.destroy();
      await anvil?.stop();
      await db.$disconnect();
    },
  };
  await engine.startWorker();
  return engine;
}
