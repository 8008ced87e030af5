/** Stripe webhook events, stored once under their event id with the outcome of acting on them. */
import type Stripe from 'stripe';
import { z } from 'zod';
import { CHANGE_CHANNELS } from './change-feed';
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

const ANNOUNCE_STORED_WEBHOOK_EVENTS: PreparedStatement = {
  name: 'announce_stored_webhook_events_v1',
  text: `SELECT pg_notify($1::text, id) FROM unnest($2::text[]) AS id`,
};
const notifiedRow = z.object({ pg_notify: z.string() });

/**
 * Tell whoever runs the outbox that these events are stored (`webhook_event_stored`, one
 * notification each), in a statement of its own after their inserts committed. A NOTIFY sent inside
 * the insert's transaction would make its commit take PostgreSQL's one cluster-wide notification
 * lock, held until the commit is flushed, behind every other notifying commit (the settlement
 * writes' `purchase_changed`). The notification only wakes the outbox early: its poll finds an
 * event whose notification never came.
 */
export async function announceStoredWebhookEvents(db: Db, eventIds: readonly string[]): Promise<void> {
  await preparedQuery(db, ANNOUNCE_STORED_WEBHOOK_EVENTS, [CHANGE_CHANNELS.webhookEventStored, eventIds], notifiedRow);
}

const CLAIM_DUE_WEBHOOK_EVENTS: PreparedStatement = {
  name: 'claim_due_webhook_events_v1',
  text: `
    UPDATE "WebhookEvent" SET attempts = attempts + 1, "nextAttemptAt" = $2::timestamptz AT TIME ZONE 'UTC'
    WHERE id IN (
      SELECT id FROM "WebhookEvent"
      WHERE "processedAt" IS NULL AND "nextAttemptAt" <= $1::timestamptz AT TIME ZONE 'UTC'
      ORDER BY "nextAttemptAt"
      LIMIT $3::int
      FOR UPDATE SKIP LOCKED
    )
    RETURNING id, attempts, payload`,
};
const claimedRow = z.object({ id: z.string(), attempts: z.number().int(), payload: z.json() });

/**
 * Claim up to `limit` stored events nobody has acted on whose `nextAttemptAt` has passed (or passes
 * before `dueBefore`): each is leased to the caller until `leaseUntil`. Concurrent claimers (several
 * API processes) skip each other's rows. Prepared, as every statement of acting on an event is: it
 * runs once or more per webhook.
 */
export async function claimDueWebhookEvents(
  db: Db,
  opts: { dueBefore: Date; leaseUntil: Date; limit: number },
): Promise<{ id: string; attempts: number; payload: Prisma.JsonValue }[]> {
  return preparedQuery(db, CLAIM_DUE_WEBHOOK_EVENTS, [opts.dueBefore.toISOString(), opts.leaseUntil.toISOString(), opts.limit], claimedRow);
}

/** A failed attempt: act on the event again from `at`. */
export async function deferWebhookEvent(db: Db, eventId: string, at: Date): Promise<void> {
  await db.webhookEvent.updateMany({ where: { id: eventId, processedAt: null }, data: { nextAttemptAt: at } });
}

const MARK_WEBHOOK_EVENT_PROCESSED: PreparedStatement = {
  name: 'mark_webhook_event_processed_v1',
  text: `UPDATE "WebhookEvent" SET "processedAt" = $2::timestamptz AT TIME ZONE 'UTC', outcome = $3::text WHERE id = $1::text RETURNING id`,
};
const idRow = z.object({ id: z.string() });

export async function markWebhookEventProcessed(db: Db, eventId: string, outcome: string, at: Date): Promise<void> {
  const rows = await preparedQuery(db, MARK_WEBHOOK_EVENT_PROCESSED, [eventId, at.toISOString(), outcome], idRow);
  if (rows.length === 0) throw new Error(`webhook event ${eventId} is not stored`);
}

/** The refund and dispute events that act on a purchase once its PaymentIntent is known. */
const CHARGE_REVERSAL_EVENT_TYPES = ['charge.refunded', 'charge.dispute.created'] as const;
export type ChargeReversalEventType = (typeof CHARGE_REVERSAL_EVENT_TYPES)[number];

const UNMATCHED_CHARGE_REVERSALS: PreparedStatement = {
  name: 'unmatched_charge_reversals_v1',
  text: `
    SELECT id, type FROM "WebhookEvent"
    WHERE outcome = 'unknown_purchase' AND type = ANY($2::text[]) AND payload #>> '{data,object,payment_intent}' = $1::text
    ORDER BY "stripeCreatedAt"`,
};
const reversalRow = z.object({ id: z.string(), type: z.enum(CHARGE_REVERSAL_EVENT_TYPES) });

/**
 * Refunds and disputes stored as `unknown_purchase` for this PaymentIntent: they arrived before the
 * payment event that ties the PaymentIntent to its purchase (Stripe does not order deliveries).
 */
export async function unmatchedChargeReversals(
  db: Db,
  paymentIntentId: string,
): Promise<Array<{ id: string; type: ChargeReversalEventType }>> {
  return preparedQuery(db, UNMATCHED_CHARGE_REVERSALS, [paymentIntentId, CHARGE_REVERSAL_EVENT_TYPES], reversalRow);
}
