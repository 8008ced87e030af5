/**
 * Subscriptions with trials on a real Temporal dev server, real PostgreSQL and stripe-mock, with an
 * injected clock for the trial check. Webhooks go through the HTTP route, signed like Stripe does.
 * stripe-mock is stateless: its subscription listing always returns one fixture subscription
 * (sub_1Pgc6rB7WZ01zgkWNy0Cn5nw, active), so drift is planted around that row, and mirror rows the
 * listing cannot know are reported as missing in Stripe.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type Stripe from 'stripe';
import request from 'supertest';
import type { ActivityDeps } from '../../src/activities';
import { createApp, type ApiDeps } from '../../src/api/app';
import { loadConfig, type Config } from '../../src/config';
import type { Db } from '../../src/db/client';
import { signedDelivery } from '../../dev/stripe-test-events';
import { createLogger } from '../../src/logger';
import { createStripe } from '../../src/runtime';
import { buildApiDeps } from '../../src/server';
import { subscriptionStatus } from '../../src/services/subscriptions';
import { createWorker } from '../../src/worker';
import type { TrialCheckResult } from '../../src/workflows/subscription-trials';
import { eventOutcome, freshDb } from '../helpers/db';
import { startTemporal, workflowBundle } from '../helpers/temporal';

const FIXTURE_SUB = 'sub_1Pgc6rB7WZ01zgkWNy0Cn5nw';
const FIXTURE_PRICE = 'price_1PgafmB7WZ01zgkW6dKueIc5';
const DAY = 86_400_000;
const taskQueue = `trial-test-${process.pid}`;

let env: TestWorkflowEnvironment;
let apiDeps: ApiDeps | undefined;
let db: Db;
let config: Readonly<Config>;
let stripe: Stripe;
let worker: Worker;
let running: Promise<void>;
let app: ReturnType<typeof createApp>;
let clock = Date.parse('2026-12-01T12:00:00Z');
const policy: { reminderDays: number; endPolicy: 'cancel' | 'past_due' } = { reminderDays: 3, endPolicy: 'cancel' };
let seq = 0;

beforeAll(async () => {
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
    // This API acts on its webhooks itself: the test runs no Stripe-event actor beside the worker.
    STRIPE_EVENTS_ACTED_ON_BY: 'api',
  });
  stripe = createStripe(config);
  const logger = createLogger({ level: 'silent', name: 'test' });
  const deps: ActivityDeps = { db, stripe, rails: {}, holdTtlMs: DAY, logger, trialPolicy: policy, now: () => new Date(clock) };
  worker = await createWorker({ connection: env.nativeConnection, config, deps, workflowBundle: await workflowBundle(), taskQueue });
  running = worker.run();
  apiDeps = buildApiDeps(config, logger, env.client);
  app = createApp(apiDeps);
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await apiDeps?.changeFeed.close();
  await apiDeps?.db.$disconnect();
  await db?.$disconnect();
  await env?.teardown();
});

const sec = (ms: number) => Math.floor(ms / 1000);

function subscription(o: {
  id: string;
  customer: string;
  status: string;
  trialEndMs?: number | null;
  periodEndMs?: number;
  pm?: boolean;
}): Stripe.Subscription {
  const trialEnd = o.trialEndMs === undefined || o.trialEndMs === null ? null : sec(o.trialEndMs);
  return {
    id: o.id,
    object: 'subscription',
    customer: o.customer,
    status: o.status,
    trial_start: trialEnd === null ? null : trialEnd - 14 * 86_400,
    trial_end: trialEnd,
    cancel_at_period_end: false,
    default_payment_method: o.pm ? 'pm_card_visa' : null,
    default_source: null,
    items: {
      object: 'list',
      data: [
        {
          id: `si_${o.id}`,
          current_period_end: sec(o.periodEndMs ?? (o.trialEndMs ?? Date.now()) + 30 * DAY),
          price: { id: FIXTURE_PRICE },
        },
      ],
    },
  } as unknown as Stripe.Subscription;
}

function event(type: string, object: unknown, createdMs: number, id = `evt_sub_${++seq}`): Stripe.Event {
  return {
    id,
    object: 'event',
    type,
    created: sec(createdMs),
    livemode: false,
    api_version: '2026-10-28.endive',
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: { object },
  } as unknown as Stripe.Event;
}

async function deliver(evt: Stripe.Event): Promise<string> {
  const { body, signature } = signedDelivery(stripe, config.STRIPE_WEBHOOK_SECRET, evt);
  const res = await request(app)
    .post('/webhooks/stripe')
    .set('content-type', 'application/json')
    .set('stripe-signature', signature)
    .send(body);
  expect(res.status).toBe(200);
  return (res.body as { outcome: string }).outcome === 'duplicate' ? 'duplicate' : eventOutcome(db, evt.id);
}

describe('checkout and the one-trial rule', () => {
  it('offers a trial to a new customer and none to a customer who had one; bad input is a typed 400', async () => {
    const first = await request(app).post('/api/subscriptions/checkout').send({ customerId: 'cus_checkout1', priceId: FIXTURE_PRICE });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ checkoutSessionId: expect.stringMatching(/^cs_/), trialOffered: true, trialDays: 14 });
    await db.trialUsage.create({ data: { customerId: 'cus_checkout1', subscriptionId: 'sub_earlier' } });
    const second = await request(app).post('/api/subscriptions/checkout').send({ customerId: 'cus_checkout1', priceId: FIXTURE_PRICE });
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({ trialOffered: false, trialDays: 0 });
    const bad = await request(app).post('/api/subscriptions/checkout').send({ customerId: 'someone', priceId: FIXTURE_PRICE });
    expect(bad.status).toBe(400);
    expect(bad.body.error.type).toBe('validation_failed');
  });

  it('a second trialing subscription for the same customer is refused (trial ended at Stripe); the first keeps the TrialUsage', async () => {
    const t = Date.now();
    expect(
      await deliver(
        event(
          'customer.subscription.created',
          subscription({ id: 'sub_trial_a', customer: 'cus_twice', status: 'trialing', trialEndMs: t + 14 * DAY }),
          t,
        ),
      ),
    ).toBe('subscription_applied');
    expect(await db.trialUsage.findUnique({ where: { customerId: 'cus_twice' } })).toMatchObject({ subscriptionId: 'sub_trial_a' });
    expect(
      await deliver(
        event(
          'customer.subscription.created',
          subscription({ id: 'sub_trial_b', customer: 'cus_twice', status: 'trialing', trialEndMs: t + 14 * DAY }),
          t,
        ),
      ),
    ).toBe('trial_refused');
    expect(await db.trialUsage.findUnique({ where: { customerId: 'cus_twice' } })).toMatchObject({ subscriptionId: 'sub_trial_a' });
    expect(await db.trialUsage.count({ where: { customerId: 'cus_twice' } })).toBe(1);
  });
});

describe('the webhook mirror', () => {
  it('a duplicate delivery changes nothing; an older event never regresses the mirror; invoices move the status', async () => {
    const t = Date.now();
    const created = event(
      'customer.subscription.created',
      subscription({ id: 'sub_mirror', customer: 'cus_mirror', status: 'trialing', trialEndMs: t + 10 * DAY }),
      t - 60_000,
    );
    expect(await deliver(created)).toBe('subscription_applied');
    const before = await db.subscription.findUniqueOrThrow({ where: { id: 'sub_mirror' } });
    expect(await deliver(created)).toBe('duplicate');
    expect(await db.subscription.findUniqueOrThrow({ where: { id: 'sub_mirror' } })).toEqual(before);

    const newer = event(
      'customer.subscription.updated',
      subscription({
        id: 'sub_mirror',
        customer: 'cus_mirror',
        status: 'active',
        trialEndMs: t - DAY,
        periodEndMs: t + 30 * DAY,
        pm: true,
      }),
      t,
    );
    const older = event(
      'customer.subscription.updated',
      subscription({ id: 'sub_mirror', customer: 'cus_mirror', status: 'trialing', trialEndMs: t + 10 * DAY }),
      t - 30_000,
    );
    expect(await deliver(newer)).toBe('subscription_applied');
    expect(await deliver(older)).toBe('subscription_stale');
    expect(await db.subscription.findUniqueOrThrow({ where: { id: 'sub_mirror' } })).toMatchObject({
      status: 'active',
      hasPaymentMethod: true,
      stripeUpdatedAt: new Date(sec(t) * 1000),
    });

    const invoice = (type: string, at: number) =>
      event(
        type,
        {
          id: `in_${++seq}`,
          object: 'invoice',
          parent: { type: 'subscription_details', subscription_details: { subscription: 'sub_mirror' } },
        },
        at,
      );
    expect(await deliver(invoice('invoice.payment_failed', t + 1000))).toBe('subscription_applied');
    expect((await db.subscription.findUniqueOrThrow({ where: { id: 'sub_mirror' } })).status).toBe('past_due');
    expect(await deliver(invoice('invoice.paid', t - 5000))).toBe('subscription_unchanged'); // older than the failure
    expect(await deliver(invoice('invoice.paid', t + 2000))).toBe('subscription_applied');
    const status = await request(app).get('/api/subscriptions/cus_mirror/status');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      customerId: 'cus_mirror',
      valid: true,
      trialUsed: true,
      subscriptions: [{ subscriptionId: 'sub_mirror', status: 'active', valid: true }],
    });
    expect((await request(app).get('/api/subscriptions/not-a-customer/status')).status).toBe(400);
  });
});

describe('the trial check workflow, with an injected clock', () => {
  const T0 = Date.parse('2026-12-01T12:00:00Z');
  const sub = (id: string, trialEndMs: number, pm = false) =>
    db.subscription.create({
      data: {
        id,
        customerId: `cus_${id}`,
        status: 'trialing',
        trialEnd: new Date(trialEndMs),
        trialStart: new Date(trialEndMs - 14 * DAY),
        hasPaymentMethod: pm,
        stripeUpdatedAt: new Date(T0 - DAY),
      },
    });
  const run = () =>
    env.client.workflow.execute('subscriptionTrialCheckWorkflow', {
      taskQueue,
      workflowId: `subscription-trial-check-test-${++seq}`,
      args: [],
    }) as Promise<TrialCheckResult>;

  beforeAll(async () => {
    clock = T0;
    await sub('sub_remind_edge', T0 + 3 * DAY); // exactly N days ahead: reminded
    await sub('sub_remind_late', T0 + 3 * DAY + 1000); // one second beyond the window: not yet
    await sub('sub_ends_now', T0); // trial_end == now: ended
    await sub('sub_ends_soon', T0 + 1000); // not ended yet, inside the window
    await sub('sub_ended_with_pm', T0 - 1000, true); // Stripe converts it; nothing to do
  });

  it('reminds once inside the window, cancels an ended trial without a payment method, and repairs drift from the listing', async () => {
    const r = await run();
    expect([...r.remindersSent].sort()).toEqual(['sub_ends_soon', 'sub_remind_edge']);
    expect(r.canceled).toEqual(['sub_ends_now']);
    expect((await db.subscription.findUniqueOrThrow({ where: { id: 'sub_ends_now' } })).status).toBe('canceled');
    expect((await db.subscription.findUniqueOrThrow({ where: { id: 'sub_ended_with_pm' } })).status).toBe('trialing');
    expect(await db.subscription.findUnique({ where: { id: FIXTURE_SUB } })).toMatchObject({
      status: 'active',
      customerId: 'cus_QXg1o8vcGmoR32',
    });

    const again = await run();
    expect(again.remindersSent).toEqual([]);
    expect(again.canceled).toEqual([]);
    expect(await db.alertOutbox.count({ where: { kind: 'trial_reminder' } })).toBe(2);
  });

  it('a day later the next trial enters the window and the ended one is handled; under past_due policy it is marked past_due', async () => {
    clock = T0 + DAY;
    policy.endPolicy = 'past_due';
    const r = await run();
    expect(r.remindersSent).toEqual(['sub_remind_late']);
    expect(r.markedPastDue).toEqual(['sub_ends_soon']);
    expect((await db.subscription.findUniqueOrThrow({ where: { id: 'sub_ends_soon' } })).status).toBe('past_due');
    expect(await subscriptionStatus(db, 'cus_sub_remind_edge', new Date(T0 + 3 * DAY - 1))).toMatchObject({ valid: true });
    expect(await subscriptionStatus(db, 'cus_sub_remind_edge', new Date(T0 + 3 * DAY))).toMatchObject({ valid: false });
    policy.endPolicy = 'cancel';
  });

  it('drift between the mirror and the listing is repaired and reported', async () => {
    await db.subscription.update({ where: { id: FIXTURE_SUB }, data: { status: 'trialing', cancelAtPeriodEnd: false } });
    const r = await run();
    expect(r.repaired).toBe(1);
    expect(await db.subscription.findUniqueOrThrow({ where: { id: FIXTURE_SUB } })).toMatchObject({
      status: 'active',
      cancelAtPeriodEnd: true,
    });
    expect(r.driftTotal).toBeGreaterThanOrEqual(1);
    expect(await db.alertOutbox.count({ where: { kind: 'subscription_drift' } })).toBeGreaterThanOrEqual(1);
  });
});
