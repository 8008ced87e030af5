/**
 * The webhook's one statement (`storeWebhookEvent`, prepared on the pool under Prisma): the columns it
 * writes, whatever the session's time zone, and its answer for a new, a repeated and a processed event.
 */
import { chargeRefunded, checkoutSessionCompleted, newPaymentIntentId } from '../../dev/stripe-test-events';
import { createDb, type Db } from '../../src/db/client';
import { claimDueWebhookEvents, markWebhookEventProcessed, storeWebhookEvent, unmatchedChargeReversals } from '../../src/db/webhook-events';
import { freshDb } from '../helpers/db';

let db: Db;
let url: string;
beforeAll(async () => {
  ({ db, url } = await freshDb());
});
afterAll(async () => {
  await db?.$disconnect();
});

function newEvent() {
  const purchaseId = `pur_store${Date.now()}${Math.floor(Math.random() * 1e6)}`;
  return checkoutSessionCompleted({
    purchaseId,
    checkoutSessionId: `cs_${purchaseId}`,
    paymentIntentId: newPaymentIntentId(),
    amountCents: 2500n,
  });
}

it('stores a new event once with its Stripe time and lease, and tells a repeat and a processed event apart', async () => {
  const event = newEvent();
  const body = JSON.stringify(event);
  const leaseUntil = new Date(Date.now() + 10_000);
  expect(await storeWebhookEvent(db, event, body, leaseUntil)).toEqual({ stored: true, processed: false });

  const row = await db.webhookEvent.findUniqueOrThrow({ where: { id: event.id } });
  expect(row).toMatchObject({ type: event.type, livemode: event.livemode, attempts: 1, processedAt: null });
  expect(row.stripeCreatedAt.getTime()).toBe(event.created * 1000);
  expect(row.nextAttemptAt.getTime()).toBe(leaseUntil.getTime());
  expect(row.payload).toEqual(JSON.parse(body));

  expect(await storeWebhookEvent(db, event, body, new Date())).toEqual({ stored: false, processed: false });
  expect((await db.webhookEvent.findUniqueOrThrow({ where: { id: event.id } })).nextAttemptAt.getTime()).toBe(leaseUntil.getTime());
  await markWebhookEventProcessed(db, event.id, 'started', new Date());
  expect(await storeWebhookEvent(db, event, body, new Date())).toEqual({ stored: false, processed: true });
});

it('writes the same instants when the session runs in another time zone', async () => {
  // The columns hold UTC without a zone; a session in UTC+14 must not shift them.
  const farEast = createDb(`${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent('-c TimeZone=Pacific/Kiritimati')}`, {
    poolSize: 1,
  });
  try {
    expect((await farEast.pool.query('SHOW TimeZone')).rows).toEqual([{ TimeZone: 'Pacific/Kiritimati' }]);
    const event = newEvent();
    const leaseUntil = new Date(Date.now() + 5_000);
    await storeWebhookEvent(farEast, event, JSON.stringify(event), leaseUntil);
    const row = await db.webhookEvent.findUniqueOrThrow({ where: { id: event.id } });
    expect(row.stripeCreatedAt.getTime()).toBe(event.created * 1000);
    expect(row.nextAttemptAt.getTime()).toBe(leaseUntil.getTime());
  } finally {
    await farEast.$disconnect();
  }
});

it('claims due events with their payload and lease, skips them while leased, and finds a refund stored before its payment', async () => {
  const event = newEvent();
  await storeWebhookEvent(db, event, JSON.stringify(event), new Date(Date.now() - 1_000));
  const now = Date.now();
  const claimed = await claimDueWebhookEvents(db, { dueBefore: new Date(now), leaseUntil: new Date(now + 10_000), limit: 100 });
  const mine = claimed.find((c) => c.id === event.id);
  expect(mine).toEqual({ id: event.id, attempts: 2, payload: JSON.parse(JSON.stringify(event)) });
  expect((await db.webhookEvent.findUniqueOrThrow({ where: { id: event.id } })).nextAttemptAt.getTime()).toBe(now + 10_000);
  const again = await claimDueWebhookEvents(db, { dueBefore: new Date(now), leaseUntil: new Date(now + 10_000), limit: 100 });
  expect(again.map((c) => c.id)).not.toContain(event.id);
  await expect(markWebhookEventProcessed(db, 'evt_not_stored', 'started', new Date())).rejects.toThrow('not stored');

  const paymentIntentId = newPaymentIntentId();
  const refund = chargeRefunded({ purchaseId: 'pur_later', checkoutSessionId: 'cs_later', paymentIntentId, amountCents: 2500n });
  await storeWebhookEvent(db, refund, JSON.stringify(refund), new Date());
  expect(await unmatchedChargeReversals(db, paymentIntentId)).toEqual([]);
  await markWebhookEventProcessed(db, refund.id, 'unknown_purchase', new Date());
  expect(await unmatchedChargeReversals(db, paymentIntentId)).toEqual([{ id: refund.id, type: 'charge.refunded' }]);
  expect(await unmatchedChargeReversals(db, newPaymentIntentId())).toEqual([]);
});
