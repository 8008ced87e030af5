/**
 * The dev Stripe against Stripe's own OpenAPI spec (the copy stripe-mock v0.197.0 ships) and against
 * the behaviour the engine relies on: fees, expansion, refunds, idempotency, the balance-transaction
 * listing, forwarding, and state that survives a restart. The engine's own `stripe` SDK is the client.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Stripe from 'stripe';
import { createDevStripeClient, DevStripeError, eventOf } from '../../dev/dev-stripe/client';
import { cardFeeCents, startDevStripe, type DevStripe } from '../../dev/dev-stripe/server';

type Schema = {
  $ref?: string;
  type?: string;
  nullable?: boolean;
  anyOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  additionalProperties?: boolean | Schema;
};
const specPath = path.join(
  execFileSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim(),
  'github.com/stripe/stripe-mock@v0.197.0/embedded/openapi/spec3.json',
);
const spec = JSON.parse(fs.readFileSync(specPath, 'utf8')) as { components: { schemas: Record<string, Schema> } };

/** Every violation of `schema` in `value` (OpenAPI 3.0's subset that Stripe's spec uses). */
function violations(value: unknown, schema: Schema, at: string, depth = 0): string[] {
  if (schema.$ref) return violations(value, spec.components.schemas[schema.$ref.replace('#/components/schemas/', '')] ?? {}, at, depth);
  if (value === null) return schema.nullable ? [] : [`${at}: null but not nullable`];
  if (schema.anyOf) {
    const each = schema.anyOf.map((s) => violations(value, s, at, depth + 1));
    return each.some((v) => v.length === 0) ? [] : [`${at}: matches no anyOf branch (${each.map((v) => v[0]).join(' | ')})`];
  }
  if (schema.enum && !schema.enum.includes(value)) return [`${at}: ${JSON.stringify(value)} not in enum`];
  switch (schema.type) {
    case 'string':
      return typeof value === 'string' ? [] : [`${at}: not a string`];
    case 'integer':
      return Number.isInteger(value) ? [] : [`${at}: not an integer`];
    case 'number':
      return typeof value === 'number' ? [] : [`${at}: not a number`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${at}: not a boolean`];
    case 'array':
      return Array.isArray(value)
        ? value.flatMap((v, i) => violations(v, schema.items ?? {}, `${at}[${i}]`, depth + 1))
        : [`${at}: not an array`];
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return [`${at}: not an object`];
      const obj = value as Record<string, unknown>;
      const out = (schema.required ?? []).filter((k) => !(k in obj)).map((k) => `${at}.${k}: required but missing`);
      for (const [k, v] of Object.entries(obj)) {
        const prop = schema.properties?.[k] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
        if (prop) out.push(...violations(v, prop, `${at}.${k}`, depth + 1));
        else if (schema.properties && schema.additionalProperties !== true) out.push(`${at}.${k}: not in the spec`);
      }
      return out;
    }
    default:
      return [];
  }
}
const shapeOf = (value: unknown, type: string) => violations(value, { $ref: `#/components/schemas/${type}` }, type);

let devStripe: DevStripe;
let stripe: Stripe;
let client: ReturnType<typeof createDevStripeClient>;
const stateFile = path.join(process.env.TEST_TMP_DIR ?? '/tmp', `dev-stripe-${process.pid}`, 'state.jsonl');
const upstream = process.env.TEST_STRIPE_MOCK_BASE ?? '';

async function start() {
  devStripe = await startDevStripe({ upstream, stateFile });
  const u = new URL(devStripe.url);
  stripe = new Stripe('sk_test_123', { host: u.hostname, port: Number(u.port), protocol: 'http', maxNetworkRetries: 0 });
  client = createDevStripeClient(devStripe.url);
}
beforeAll(start);
afterAll(async () => {
  await devStripe?.close();
});

const session = (cents: number, o: { key?: string; purchaseId?: string } = {}) =>
  stripe.checkout.sessions.create(
    {
      mode: 'payment',
      client_reference_id: o.purchaseId ?? 'pur_dev_stripe_test',
      line_items: [{ quantity: 1, price_data: { currency: 'usd', unit_amount: cents, product_data: { name: 'Track' } } }],
      metadata: { purchase_id: o.purchaseId ?? 'pur_dev_stripe_test' },
      payment_intent_data: { metadata: { purchase_id: o.purchaseId ?? 'pur_dev_stripe_test' } },
      success_url: 'http://127.0.0.1/ok',
      cancel_url: 'http://127.0.0.1/cancel',
    },
    o.key ? { idempotencyKey: o.key } : undefined,
  );

it('charges 2.9% + 30¢, the percentage rounded half-up to a cent', () => {
  expect([50n, 500n, 1500n, 1999n, 2500n, 9900n, 499999n].map(cardFeeCents)).toEqual([31n, 45n, 74n, 88n, 103n, 317n, 14530n]);
});

it("a paid session: every object and event has Stripe's OpenAPI shape, ids link up, the fee is in the balance transaction", async () => {
  const s = await session(1999);
  expect(s).toMatchObject({ amount_total: 1999, payment_status: 'unpaid', status: 'open', payment_intent: null });
  expect(s.url).toBe(`${devStripe.url}/checkout/${s.id}`);
  const paid = await client.pay(s.id);
  expect(paid.events.map((e) => e.type)).toEqual([
    'payment_intent.created',
    'charge.succeeded',
    'payment_intent.succeeded',
    'checkout.session.completed',
  ]);
  expect(paid.feeCents).toBe(88n);

  const pi = await stripe.paymentIntents.retrieve(paid.paymentIntentId, { expand: ['latest_charge.balance_transaction'] });
  const charge = pi.latest_charge as Stripe.Charge;
  const bt = charge.balance_transaction as Stripe.BalanceTransaction;
  expect(pi).toMatchObject({ status: 'succeeded', amount: 1999, amount_received: 1999, metadata: { purchase_id: 'pur_dev_stripe_test' } });
  expect(charge).toMatchObject({ id: paid.chargeId, payment_intent: pi.id, amount: 1999, paid: true, status: 'succeeded' });
  expect(bt).toMatchObject({
    amount: 1999,
    fee: 88,
    net: 1911,
    type: 'charge',
    source: charge.id,
    fee_details: [{ amount: 88, type: 'stripe_fee', currency: 'usd' }],
  });
  const completed = await stripe.checkout.sessions.retrieve(s.id);
  expect(completed).toMatchObject({ payment_intent: pi.id, payment_status: 'paid', status: 'complete' });

  const refund = await stripe.refunds.create({
    payment_intent: pi.id,
    reason: 'requested_by_customer',
    metadata: { purchase_id: 'pur_dev_stripe_test' },
  });
  const dispute = await client.dispute(paid.chargeId);
  const objects: [unknown, string][] = [
    [completed, 'checkout.session'],
    [await stripe.paymentIntents.retrieve(pi.id), 'payment_intent'],
    [await stripe.charges.retrieve(charge.id), 'charge'],
    [await stripe.balanceTransactions.retrieve(bt.id), 'balance_transaction'],
    [refund, 'refund'],
    [await stripe.disputes.retrieve(dispute.disputeId), 'dispute'],
  ];
  for (const e of [...paid.events, ...dispute.events]) {
    objects.push([e, 'event'], [e.data.object, (e.data.object as { object: string }).object]);
    expect(await stripe.events.retrieve(e.id)).toEqual(e);
  }
  for (const [obj, type] of objects) expect(shapeOf(obj, type)).toEqual([]);
});

it("refunds: the engine's idempotent refund is one refund; a second one is refused as Stripe does; refund and dispute move the balance", async () => {
  const paid = await client.pay((await session(2500)).id);
  const first = await stripe.refunds.create({ payment_intent: paid.paymentIntentId }, { idempotencyKey: `refund:${paid.paymentIntentId}` });
  const again = await stripe.refunds.create({ payment_intent: paid.paymentIntentId }, { idempotencyKey: `refund:${paid.paymentIntentId}` });
  expect(again.id).toBe(first.id);
  await expect(stripe.refunds.create({ payment_intent: paid.paymentIntentId })).rejects.toMatchObject({
    type: 'StripeInvalidRequestError',
    code: 'charge_already_refunded',
    statusCode: 400,
  });
  expect(await stripe.charges.retrieve(paid.chargeId)).toMatchObject({ amount_refunded: 2500, refunded: true });
  const txns = await stripe.balanceTransactions.list({ limit: 100 });
  expect(txns.data.find((t) => t.source === first.id)).toMatchObject({ type: 'refund', amount: -2500, fee: 0 });

  const partial = await client.pay((await session(9900)).id);
  const r = await client.refund(partial.paymentIntentId, { amountCents: 900n });
  expect(r.amountCents).toBe(900n);
  for (const e of r.events) expect(shapeOf(e.data.object, (e.data.object as { object: string }).object)).toEqual([]);
  expect(eventOf(r.events, 'charge.refunded').data.object).toMatchObject({ amount_refunded: 900, refunded: false });
  const d = await client.dispute(partial.chargeId);
  expect(eventOf(d.events, 'charge.dispute.created').data.object).toMatchObject({
    charge: partial.chargeId,
    payment_intent: partial.paymentIntentId,
    amount: 9900,
    status: 'needs_response',
  });
  await expect(client.dispute(partial.chargeId)).rejects.toMatchObject({ status: 400, code: 'charge_disputed' });
});

it('a declined card leaves the session open; paying it afterwards reuses the PaymentIntent', async () => {
  const s = await session(1000);
  const declined = await client.decline(s.id);
  expect(declined.events.map((e) => e.type)).toEqual(['payment_intent.created', 'charge.failed', 'payment_intent.payment_failed']);
  expect(await stripe.paymentIntents.retrieve(declined.paymentIntentId)).toMatchObject({
    status: 'requires_payment_method',
    last_payment_error: { code: 'card_declined' },
  });
  for (const e of declined.events) expect(shapeOf(e.data.object, (e.data.object as { object: string }).object)).toEqual([]);
  const paid = await client.pay(s.id);
  expect(paid.paymentIntentId).toBe(declined.paymentIntentId);
  await expect(client.pay(s.id)).rejects.toBeInstanceOf(DevStripeError);
});

it('idempotency keys replay the first answer and refuse different parameters', async () => {
  const key = `checkout:${Date.now()}`;
  const a = await session(700, { key });
  const b = await session(700, { key });
  expect(b.id).toBe(a.id);
  await expect(session(800, { key })).rejects.toMatchObject({ type: 'StripeIdempotencyError' });
});

it('lists balance transactions newest first, filtered by created, across pages', async () => {
  const base = Date.UTC(2025, 0, 10) / 1000;
  const ids: string[] = [];
  for (let i = 0; i < 5; i++)
    ids.push((await client.pay((await session(1000 + i)).id, { created: new Date((base + i * 60) * 1000) })).balanceTransactionId);
  const listed: string[] = [];
  for await (const t of stripe.balanceTransactions.list({ created: { gte: base, lt: base + 4 * 60 }, limit: 2 })) listed.push(t.id);
  expect(listed).toEqual(ids.slice(0, 4).reverse());
});

it('forwards what it does not own to stripe-mock, and answers 404 for payments it never made', async () => {
  expect((await stripe.subscriptions.list({ limit: 1 })).object).toBe('list');
  await expect(stripe.paymentIntents.retrieve('pi_never_made')).rejects.toMatchObject({ statusCode: 404, code: 'resource_missing' });
});

it('keeps every payment across a restart', async () => {
  const paid = await client.pay((await session(4321)).id);
  await devStripe.close();
  await start();
  const pi = await stripe.paymentIntents.retrieve(paid.paymentIntentId, { expand: ['latest_charge.balance_transaction'] });
  expect(((pi.latest_charge as Stripe.Charge).balance_transaction as Stripe.BalanceTransaction).fee).toBe(Number(cardFeeCents(4321n)));
  await expect(client.pay(paid.checkoutSessionId)).rejects.toMatchObject({ code: 'checkout_session_not_open' });
});
