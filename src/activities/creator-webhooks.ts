/**
 * Delivery of the notification outbox: each `payout.settled` event is POSTed to its creator
 * endpoint, signed with CREATOR_WEBHOOK_SECRET the way Stripe signs its webhooks:
 *
 *   Settlement-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * A receiver recomputes v1 over the raw body, compares in constant time and refuses a `t` older than
 * its tolerance (verifyCreatorWebhookSignature below does exactly that). Failed posts are retried
 * with exponential backoff (30 s doubling, at most 1 hour apart) until CREATOR_WEBHOOK_MAX_ATTEMPTS.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../db/client';
import { listDueNotifications, markNotificationAttemptFailed, markNotificationDelivered } from '../db/notifications';

const CREATOR_SIGNATURE_HEADER = 'Settlement-Signature';
const CREATOR_EVENT_ID_HEADER = 'Settlement-Event-Id';

export function signCreatorWebhook(secret: string, body: string, timestampSec: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestampSec}.${body}`, 'utf8').digest('hex');
  return `t=${timestampSec},v1=${v1}`;
}

/** For receivers (and the tests): true when `header` signs `body` with `secret` within the tolerance. */
export function verifyCreatorWebhookSignature(
  secret: string,
  header: string,
  body: string,
  toleranceSec = 300,
  nowSec = Math.floor(Date.now() / 1000),
): boolean {
  const parts = new Map(
    header.split(',').map((kv) => {
      const i = kv.indexOf('=');
      return [kv.slice(0, i).trim(), kv.slice(i + 1).trim()] as const;
    }),
  );
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || Math.abs(nowSec - t) > toleranceSec || !/^[0-9a-f]{64}$/.test(v1)) return false;
  const expected = Buffer.from(signCreatorWebhook(secret, body, t).split('v1=')[1] ?? '', 'hex');
  return timingSafeEqual(expected, Buffer.from(v1, 'hex'));
}

/** The wait before attempt `attempts + 1`: 30 s, doubling, capped at an hour. */
export const retryDelayMs = (attempts: number): number => Math.min(30_000 * 2 ** Math.max(0, attempts - 1), 3_600_000);

export interface CreatorWebhookDeps {
  db: Db;
  logger: Logger;
  creatorWebhookSecret?: string;
  creatorWebhookMaxAttempts?: number;
  fetchImpl?: typeof fetch;
  now?: () => Date;
}

export function createCreatorWebhookActivities({
  db,
  logger,
  creatorWebhookSecret,
  creatorWebhookMaxAttempts = 12,
  fetchImpl = fetch,
  now = () => new Date(),
}: CreatorWebhookDeps) {
  return {
    /** POST every due notification once; failures are rescheduled in the outbox, never thrown. */
    async deliverCreatorNotifications(): Promise<{ delivered: number; failed: number }> {
      if (!creatorWebhookSecret) return { delivered: 0, failed: 0 };
      const due = await listDueNotifications(db, now(), 100);
      let delivered = 0;
      let failed = 0;
      for (const n of due) {
        const body = JSON.stringify(n.payload);
        const eventId = typeof n.payload === 'object' && n.payload !== null && 'id' in n.payload ? String(n.payload.id) : n.id;
        try {
          const res = await fetchImpl(n.endpoint, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              [CREATOR_EVENT_ID_HEADER]: eventId,
              [CREATOR_SIGNATURE_HEADER]: signCreatorWebhook(creatorWebhookSecret, body, Math.floor(now().getTime() / 1000)),
            },
            body,
            redirect: 'manual',
            signal: AbortSignal.timeout(10_000),
          });
          if (res.status < 200 || res.status >= 300) throw new Error(`endpoint answered ${res.status}`);
          await markNotificationDelivered(db, n.id, now());
          delivered += 1;
        } catch (err) {
          failed += 1;
          const attempts = n.attempts + 1;
          const retryAt = attempts >= creatorWebhookMaxAttempts ? null : new Date(now().getTime() + retryDelayMs(attempts));
          await markNotificationAttemptFailed(db, n.id, String(err), retryAt, now());
          logger.warn(
            { notification: n.id, endpoint: n.endpoint, attempts, gaveUp: retryAt === null, err: String(err) },
            'creator webhook delivery failed',
          );
        }
      }
      return { delivered, failed };
    },
  };
}
