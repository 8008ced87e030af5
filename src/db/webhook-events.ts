/** Stripe webhook events, stored once under their event id with the outcome of acting on them. */
import type Stripe from 'stripe';
import type { Db, Prisma } from './client';

/**
 * Store the event unless its id is already stored. `processed` tells whether an earlier delivery
 * already acted on it.
 */
export async function storeWebhookEvent(db: Db, event: Stripe.Event): Promise<{ stored: boolean; processed: boolean }> {
  const payload: Prisma.InputJsonObject = JSON.parse(JSON.stringify(event));
  const res = await db.webhookEvent.createMany({
    data: [{ id: event.id, type: event.type, livemode: event.livemode, stripeCreatedAt: new Date(event.created * 1000), payload }],
    skipDuplicates: true,
  });
  if (res.count === 1) return { stored: true, processed: false };
  const existing = await db.webhookEvent.findUnique({ where: { id: event.id }, select: { processedAt: true } });
  return { stored: false, processed: Boolean(existing?.processedAt) };
}

export async function markWebhookEventProcessed(db: Db, eventId: string, outcome: string, at: Date): Promise<void> {
  await db.webhookEvent.update({ where: { id: eventId }, data: { processedAt: at, outcome } });
}

/** The refund and dispute events that act on a purchase once its PaymentIntent is known. */
const CHARGE_REVERSAL_EVENT_TYPES = ['charge.refunded', 'charge.dispute.created'] as const;
export type ChargeReversalEventType = (typeof CHARGE_REVERSAL_EVENT_TYPES)[number];

/**
 * Refunds and disputes stored as `unknown_purchase` for this PaymentIntent: they arrived before the
 * payment event that ties the PaymentIntent to its purchase (Stripe does not order deliveries).
 */
export async function unmatchedChargeReversals(
  db: Db,
  paymentIntentId: string,
): Promise<Array<{ id: string; type: ChargeReversalEventType }>> {
  const rows = await db.webhookEvent.findMany({
    where: {
      outcome: 'unknown_purchase',
      type: { in: [...CHARGE_REVERSAL_EVENT_TYPES] },
      payload: { path: ['data', 'object', 'payment_intent'], equals: paymentIntentId },
    },
    select: { id: true, type: true },
    orderBy: { stripeCreatedAt: 'asc' },
  });
  return rows.flatMap((r) => (r.type === 'charge.refunded' || r.type === 'charge.dispute.created' ? [{ id: r.id, type: r.type }] : []));
}
