/**
 * Treasury reconciliation on a real Temporal dev server, real PostgreSQL and the dev Stripe. The chain
 * is an in-test SettlementRail whose balance the test controls (the chain rails have their own tests).
 * Each fee check pays a $25.00 Checkout Session at the dev Stripe dated inside the period under test
 * (stripe_fee 103¢ in its balance transaction), so the listing filtered by `created` finds exactly it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import request from 'supertest';
import type { ActivityDeps } from '../../src/activities';
import { createApp } from '../../src/api/app';
import type { SettlementRail } from '../../src/chains/rail';
import { loadConfig, type Config } from '../../src/config';
import type { Db } from '../../src/db/client';
import { recordTreasuryFunding, reserveTreasuryHold, treasuryPosition } from '../../src/db/ledger';
import { createProduct, recordSettlement } from '../../src/db/purchases';
import { createDevStripeClient } from '../../dev/dev-stripe/client';
import { createLogger } from '../../src/logger';
import { createStripe } from '../../src/runtime';
import { buildApiDeps } from '../../src/server';
import { ensureSchedules, reconciliationWorkflowId, ScheduleId, triggerSchedule } from '../../src/services/schedules';
import { Rail } from '../../src/shared/status';
import { reconciliationPeriod } from '../../src/shared/treasury-health';
import { createWorker } from '../../src/worker';
import type { ReconciliationResult } from '../../src/workflows/reconciliation';
import { freshDb } from '../helpers/db';
import { startTemporal, workflowBundle } from '../helpers/temporal';

const taskQueue = `recon-test-${process.pid}`;

let env: TestWorkflowEnvironment;
let db: Db;
let config: Readonly<Config>;
let worker: Worker;
let running: Promise<void>;
let chainBalance: bigint | 'ledger' = 'ledger';
let productId: string;
let alertServer: http.Server;
const delivered: { kind: string; severity: string }[] = [];
let seq = 0;

const fakeSolana: SettlementRail = {
  rail: Rail.Solana,
  isValidWallet: () => true,
  async treasuryBalanceMicroUsdc() {
    return chainBalance === 'ledger' ? (await treasuryPosition(db, Rail.Solana)).balanceMicro : chainBalance;
  },
  settle: () => Promise.reject(new Error('not used')),
  ping: () => Promise.resolve(),
};

beforeAll(async () => {
  alertServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      delivered.push(JSON.parse(body) as { kind: string; severity: string });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => alertServer.listen(0, '127.0.0.1', r));
  env = await startTemporal();
  const fresh = await freshDb();
  db = fresh.db;
  config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: fresh.url,
    TEMPORAL_ADDRESS: env.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    STRIPE_API_BASE: process.env.TEST_STRIPE_API_BASE,
    ALERT_WEBHOOK_URL: `http://127.0.0.1:${(alertServer.address() as AddressInfo).port}/alerts`,
  });
  const logger = createLogger({ level: 'silent', name: 'test' });
  const deps: ActivityDeps = {
    db,
    stripe: createStripe(config),
    rails: { [Rail.Solana]: fakeSolana },
    holdTtlMs: 86_400_000,
    logger,
    alertWebhookUrl: config.ALERT_WEBHOOK_URL,
    treasuryThresholds: { warningBalanceCents: config.TREASURY_WARNING_BALANCE_CENTS, runwayWarningDays: config.RUNWAY_WARNING_DAYS },
  };
  worker = await createWorker({ connection: env.nativeConnection, config, deps, workflowBundle: await workflowBundle(), taskQueue });
  running = worker.run();
  await ensureSchedules(env.client, config);
  productId = (
    await createProduct(db, {
      title: 'Recon',
      priceCents: 2500n,
      currency: 'usd',
      rail: Rail.Solana,
      collaborators: [{ wallet: 'w1', role: 'author', shareBps: 10_000 }],
    })
  ).id;
  await recordTreasuryFunding(db, { rail: Rail.Solana, amountMicro: 100_000_000_000n, reference: 'recon-test', source: 'owner' });
});

/** What a test opened that holds connections (an API's change feed and pool), closed at the end. */
const closeAfter: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closeAfter) await close();
  worker?.shutdown();
  await running;
  await db?.$disconnect();
  await env?.teardown();
  alertServer?.close();
});

/** A $25.00 card payment at the dev Stripe, made at `at`: its charge id and Stripe's fee. */
async function paidCharge(at: Date): Promise<{ chargeId: string; feeCents: bigint }> {
  const session = await createStripe(config).checkout.sessions.create({
    mode: 'payment',
    line_items: [{ quantity: 1, price_data: { currency: 'usd', unit_amount: 2500, product_data: { name: 'Recon' } } }],
    success_url: 'http://127.0.0.1/ok',
    cancel_url: 'http://127.0.0.1/cancel',
  });
  const paid = await createDevStripeClient(process.env.TEST_STRIPE_API_BASE ?? '').pay(session.id, { created: at });
  return { chargeId: paid.chargeId, feeCents: paid.feeCents };
}

/** A settled purchase whose ledger journal is dated `at`. */
async function settle(at: Date, o: { chargeId: string; feeCents: bigint; poolCents: bigint; platformFeeCents?: bigint }) {
  const id = `pur_recon_${++seq}_${Date.now()}`;
  const gross = o.poolCents + o.feeCents + (o.platformFeeCents ?? 0n);
  await db.purchase.create({
    data: {
      id,
      productId,
      buyerWallet: 'buyer',
      rail: Rail.Solana,
      status: 'settling',
      chargeId: o.chargeId,
      grossCents: gross,
      stripeFeeCents: o.feeCents,
      platformFeeCents: o.platformFeeCents ?? 0n,
      creatorPoolMicroUsdc: o.poolCents * 10_000n,
    },
  });
  await recordSettlement(db, {
    purchaseId: id,
    rail: Rail.Solana,
    txId: `tx_${id}`,
    nftId: `nft_${id}`,
    grossCents: gross,
    stripeFeeCents: o.feeCents,
    creatorPoolMicroUsdc: o.poolCents * 10_000n,
    payouts: [],
  });
  await db.journalTransaction.updateMany({ where: { purchaseId: id }, data: { createdAt: at } });
  return id;
}

/** Move the treasury's available balance to exactly `target` micro-USDC (fund, or hold the excess). */
async function setAvailable(target: bigint) {
  const p = await treasuryPosition(db, Rail.Solana);
  if (p.availableMicro < target)
    await recordTreasuryFunding(db, {
      rail: Rail.Solana,
      amountMicro: target - p.availableMicro,
      reference: `top-up-${++seq}`,
      source: 'owner',
    });
  if (p.availableMicro > target) {
    const r = await reserveTreasuryHold(db, {
      purchaseId: `pur_hold_${++seq}`,
      rail: Rail.Solana,
      amountMicro: p.availableMicro - target,
      expiresAt: new Date(Date.now() + 86_400_000),
    });
    expect(r.outcome).toBe('reserved');
  }
  expect((await treasuryPosition(db, Rail.Solana)).availableMicro).toBe(target);
}

function reconcile(at: string): Promise<ReconciliationResult> {
  const { periodStart } = reconciliationPeriod(new Date(at));
  return env.client.workflow.execute('treasuryReconciliationWorkflow', {
    taskQueue,
    workflowId: `${reconciliationWorkflowId(periodStart)}-${++seq}`,
    args: [{ at }],
  });
}

const rowFor = (periodStart: string) =>
  db.treasuryReconciliation.findMany({
    where: { periodStart: new Date(periodStart) },
    include: { discrepancies: { orderBy: { kind: 'asc' } } },
  });

it('the schedules exist with the specs, SKIP overlap and catch-up window from config; ensuring again updates in place', async () => {
  const recon = await env.client.schedule.getHandle(ScheduleId.TreasuryReconciliation).describe();
  const trial = await env.client.schedule.getHandle(ScheduleId.SubscriptionTrialCheck).describe();
  for (const d of [recon, trial]) {
    expect(d.policies.overlap).toBe('SKIP');
    expect(d.policies.catchupWindow).toBe(86_400_000);
    expect(d.action.type).toBe('startWorkflow');
  }
  expect(recon.action.workflowType).toBe('treasuryReconciliationWorkflow');
  expect(trial.action.workflowType).toBe('subscriptionTrialCheckWorkflow');
  const next = recon.info.nextActionTimes[0] as Date;
  expect([next.getUTCDay(), next.getUTCHours(), next.getUTCMinutes()]).toEqual([1, 9, 0]); // Mondays 09:00 UTC
  const nextTrial = trial.info.nextActionTimes.slice(0, 2) as Date[];
  expect(nextTrial.map((t) => t.getUTCHours())).toEqual([8, 8]);
  expect((nextTrial[1] as Date).getTime() - (nextTrial[0] as Date).getTime()).toBe(86_400_000); // daily

  // The engine health check: every minute, SKIP overlap, no catch-up beyond a minute.
  const health = await env.client.schedule.getHandle(ScheduleId.EngineHealthCheck).describe();
  expect([
    health.action.type === 'startWorkflow' && health.action.workflowType,
    health.policies.overlap,
    health.policies.catchupWindow,
  ]).toEqual(['engineHealthCheckWorkflow', 'SKIP', 60_000]);
  const nextHealth = health.info.nextActionTimes.slice(0, 2) as Date[];
  expect((nextHealth[1] as Date).getTime() - (nextHealth[0] as Date).getTime()).toBe(60_000);

  const moved = loadConfig({ ...process.env, RECONCILIATION_CRON: '30 10 * * TUE', TEMPORAL_TASK_QUEUE: taskQueue, LOG_LEVEL: 'silent' });
  expect(await ensureSchedules(env.client, moved)).toEqual([
    { scheduleId: ScheduleId.TreasuryReconciliation, outcome: 'updated' },
    { scheduleId: ScheduleId.SubscriptionTrialCheck, outcome: 'updated' },
    { scheduleId: ScheduleId.EngineHealthCheck, outcome: 'updated' },
  ]);
  const after = (await env.client.schedule.getHandle(ScheduleId.TreasuryReconciliation).describe()).info.nextActionTimes[0] as Date;
  expect([after.getUTCDay(), after.getUTCHours(), after.getUTCMinutes()]).toEqual([2, 10, 30]);
  await ensureSchedules(env.client, config);
  await expect(triggerSchedule(env.client, 'nope')).rejects.toMatchObject({ type: 'not_found' });
});

it('a triggered run writes exactly one row for its period; triggering again rewrites the same row; GET /admin/treasury shows it', async () => {
  const handle = env.client.schedule.getHandle(ScheduleId.TreasuryReconciliation);
  const runOnce = async () => {
    const before = (await handle.describe()).info.recentActions.length;
    await triggerSchedule(env.client, ScheduleId.TreasuryReconciliation);
    let actions = (await handle.describe()).info.recentActions;
    for (let i = 0; i < 100 && actions.length === before; i++) {
      await new Promise((r) => setTimeout(r, 200));
      actions = (await handle.describe()).info.recentActions;
    }
    const wid = (actions[actions.length - 1] as (typeof actions)[number]).action.workflow.workflowId;
    return env.client.workflow.getHandle(wid).result() as Promise<ReconciliationResult>;
  };
  const first = await runOnce();
  const expected = reconciliationPeriod(new Date());
  expect(first).toMatchObject(expected);
  const second = await runOnce();
  expect(second.reconciliationId).toBe(first.reconciliationId);
  const rows = await rowFor(expected.periodStart);
  expect(rows).toHaveLength(1);

  const apiDeps = buildApiDeps(config, createLogger({ level: 'silent', name: 'api' }), env.client);
  closeAfter.push(() => Promise.all([apiDeps.changeFeed.close(), apiDeps.db.$disconnect()]));
  const app = createApp(apiDeps);
  const res = await request(app).get('/admin/treasury').set('authorization', `Bearer ${config.ADMIN_TOKEN}`);
  expect(res.status).toBe(200);
  expect(res.body.lastReconciliation).toMatchObject({
    id: first.reconciliationId,
    periodStart: expected.periodStart,
    health: expect.any(String),
  });
  expect(res.body.lastReconciliation).toHaveProperty('runwayDays');
  expect(res.body).toMatchObject({
    balanceMicroUsdc: expect.stringMatching(/^\d+$/),
    availableMicroUsdc: expect.stringMatching(/^\d+$/),
    health: expect.any(String),
    weeklyStats: expect.any(Object),
  });
  const trig = await request(app)
    .post(`/admin/schedules/${ScheduleId.TreasuryReconciliation}/trigger`)
    .set('authorization', `Bearer ${config.ADMIN_TOKEN}`);
  expect(trig.status).toBe(202);
  expect((await request(app).post('/admin/schedules/unknown/trigger').set('authorization', `Bearer ${config.ADMIN_TOKEN}`)).status).toBe(
    400,
  );
});

it('reports a ledger/chain mismatch and a Stripe fee missing from the ledger, alerts, and delivers the alerts', async () => {
  const at = '2026-01-14T09:00:00Z'; // period 2026-01-05 .. 2026-01-12
  const period = reconciliationPeriod(new Date(at));
  const stripeOnly = await paidCharge(new Date('2026-01-07T10:00:00Z'));
  expect(stripeOnly.feeCents).toBe(103n);
  await settle(new Date('2026-01-06T10:00:00Z'), { chargeId: 'ch_local_only_1', feeCents: 50n, poolCents: 1_000n, platformFeeCents: 100n });
  const ledger = (await treasuryPosition(db, Rail.Solana)).balanceMicro;
  chainBalance = ledger - 1_234n;
  const result = await reconcile(at);
  chainBalance = 'ledger';
  expect(result.discrepancies).toBe(3);
  const [row] = await rowFor(period.periodStart);
  expect(row).toMatchObject({
    purchaseCount: 1,
    frontedMicroUsdc: 10_000_000n,
    platformFeesCents: 100n,
    stripeFeesCents: 50n,
    netToReplenishCents: 1_000n,
    ledgerTreasuryMicroUsdc: ledger,
    chainTreasuryMicroUsdc: ledger - 1_234n,
  });
  expect(row?.discrepancies.map((d) => [d.kind, d.reference, d.expected, d.actual])).toEqual([
    ['ledger_fee_missing_in_stripe', 'ch_local_only_1', 'missing', '50'],
    ['stripe_fee_missing_from_ledger', stripeOnly.chargeId, '103', 'missing'],
    ['treasury_balance_mismatch', 'treasury:solana', ledger.toString(), (ledger - 1_234n).toString()],
  ]);
  const alerts = await db.alertOutbox.findMany({ where: { dedupeKey: { contains: period.periodStart } } });
  expect(alerts.map((a) => a.kind).sort()).toEqual(['stripe_fee_mismatch', 'treasury_chain_mismatch']);
  expect(alerts.every((a) => a.deliveredAt !== null)).toBe(true);
  expect(delivered.map((d) => d.kind)).toEqual(expect.arrayContaining(['treasury_chain_mismatch', 'stripe_fee_mismatch']));

  // The chain catches up and the Stripe-only charge's purchase is booked with Stripe's fee in a later
  // period: a re-run of the same period rewrites the same row with only the remaining mismatch.
  await settle(new Date('2026-01-20T10:00:00Z'), { chargeId: stripeOnly.chargeId, feeCents: 103n, poolCents: 2_000n });
  const again = await reconcile(at);
  expect(again.reconciliationId).toBe(result.reconciliationId);
  const rows = await rowFor(period.periodStart);
  expect(rows).toHaveLength(1);
  expect(rows[0]?.discrepancies.map((d) => d.kind)).toEqual(['ledger_fee_missing_in_stripe']);
  expect(await db.alertOutbox.count({ where: { dedupeKey: { contains: period.periodStart } } })).toBe(2); // no duplicate alerts
});

it('reports a Stripe fee that differs from the ledger', async () => {
  const at = '2026-02-04T09:00:00Z';
  const charge = await paidCharge(new Date('2026-01-27T09:00:00Z'));
  await settle(new Date('2026-01-27T10:00:00Z'), { chargeId: charge.chargeId, feeCents: 99n, poolCents: 1_000n });
  await reconcile(at);
  const [row] = await rowFor(reconciliationPeriod(new Date(at)).periodStart);
  expect(row?.discrepancies.map((d) => [d.kind, d.reference, d.expected, d.actual])).toEqual([
    ['stripe_fee_mismatch', charge.chargeId, '103', '99'],
  ]);
});

describe('runway and health at the boundaries ($2,000, 7 days)', () => {
  const at = '2026-03-04T09:00:00Z'; // period 2026-02-23 .. 2026-03-02: fronts exactly $2,000
  beforeAll(async () => {
    const charge = await paidCharge(new Date('2026-02-24T09:00:00Z'));
    await settle(new Date('2026-02-24T10:00:00Z'), { chargeId: charge.chargeId, feeCents: charge.feeCents, poolCents: 200_000n });
  });

  it('available exactly $2,000 with $2,000 fronted in the week: runway 7 days, healthy', async () => {
    await setAvailable(2_000_000_000n);
    expect(await reconcile(at)).toMatchObject({ runwayDays: 7, health: 'healthy' });
  });

  it('one micro-USDC less: runway 6 days and below $2,000, critical, and alerted', async () => {
    await setAvailable(2_000_000_000n - 1n);
    const r = await reconcile(at);
    expect(r).toMatchObject({ runwayDays: 6, health: 'critical' });
    expect(await db.alertOutbox.count({ where: { dedupeKey: `treasury-health:${r.periodStart}:critical` } })).toBe(1);
    expect(await rowFor(r.periodStart)).toHaveLength(1);
  });

  it('a week without fronting has no runway; below $2,000 alone is a warning', async () => {
    const r = await reconcile('2026-04-08T09:00:00Z');
    expect(r).toMatchObject({ runwayDays: null, health: 'warning' });
  });
});
