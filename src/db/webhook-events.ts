/** Stripe webhook events, stored once under their event id with the outcome of acting on them. */
import type Stripe from 'stripe';
import { z } from 'zod';
import { preparedQuery, type Db, type PreparedStatement, type Prisma } from './client';

const STORE_WEBHOOK_EVENT: PreparedStatement = {
  name: 'store_webhook_event_v1',
  text: `
    WITH ins AS (
      INSERT INTO "WebhookEvent" (id, type, livemode, "stripeCreatedAt", payload, attempts, "nextAttemptAt")
      VALUES ($1::text, $2::text, $3::boolean, to_timestamp($4::bigint) AT TIME ZONE 'UTC', $5::jsonb, 1, $6::timestamptz AT TIME ZONE 'UTC')
      ON CONFLICT (id) DO NOTHING
      RETURNING true AS stored
    )
    SELECT true AS stored, false AS processed FROM ins
    UNION ALL
    SELECT false, "processedAt" IS NOT NULL FROM "WebhookEvent" WHERE id = $1::text AND NOT EXISTS (SELECT 1 FROM ins)`,
};
const storedRow = z.object({ stored: z.boolean(), processed: z.boolean() });

/**
 * Store the event unless its id is already stored, leased to the caller until `leaseUntil` (who acts
 * on it next). `rawBody` is the verified body itself, stored as the payload. `processed` tells
 * whether an earlier delivery already acted on it. One prepared statement: the acknowledgement's
 * only round trip for a new event.
 */
export async function storeWebhookEvent(
  db: Db,
  event: Stripe.Event,
  rawBody: string,
  leaseUntil: Date,
): Promise<{ stored: boolean; processed: boolean }> {
  const rows = await preparedQuery(
    db,
    STORE_WEBHOOK_EVENT,
    [event.id, event.type, event.livemode, event.created, rawBody, leaseUntil.toISOString()],
    storedRow,
  );
  return rows[0] ?? { stored: false, processed: false };
}

/**
 * Claim up to `limit` stored events nobody has acted on whose `nextAttemptAt` has passed (or passes
 * before `dueBefore`): each is leased to the caller until `leaseUntil`. Concurrent claimers (several
 * API processes) skip each other's rows.
 */
export async function claimDueWebhookEvents(
  db: Db,
  opts: { dueBefore: Date; leaseUntil: Date; limit: number },
): Promise<{ id: string; attempts: number; payload: Prisma.JsonValue }[]> {
  return db.$queryRaw`
    UPDATE "WebhookEvent" SET attempts = attempts + 1, "nextAttemptAt" = ${opts.leaseUntil}
    WHERE id IN (
      SELECT id FROM "WebhookEvent"
      WHERE "processedAt" IS NULL AND "nextAttemptAt" <= ${opts.dueBefore}
      ORDER BY "nextAttemptAt"
      LIMIT ${opts.limit}
      FOR UPDATE SKIP LOCKED
    )
    RETURNING id, attempts, payload`;
}

/** A failed attempt: act on the event again from `at`. */
export async function deferWebhookEvent(db: Db, eventId: string, at: Date): Promise<void> {
  await db.webhookEvent.updateMany({ where: { id: eventId, processedAt: null }, data: { nextAttemptAt: at } });
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
