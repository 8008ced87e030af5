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
