/**
 * The notification outbox: signed outgoing webhooks to creators' endpoints (`payout.settled`).
 * Rows are written in the database transaction that records the payouts, one per payout and
 * endpoint, so a notification exists exactly when its payout does; delivery retries them with
 * backoff until the endpoint answers 2xx or the attempts run out.
 */
import type { Db, Prisma } from './client';

const NotificationType = { PayoutSettled: 'payout.settled' } as const;

/** The body of a `payout.settled` event (money as decimal strings). */
interface PayoutSettledData {
  purchaseId: string;
  productId: string;
  wallet: string;
  role: string;
  shareBps: number;
  amountMicroUsdc: string;
  rail: string;
  txId: string;
  settledAt: string;
}

export interface PayoutNotificationInput extends Omit<PayoutSettledData, 'settledAt'> {
  position: number;
}

/** The stable id of a payout's event: the same on every endpoint, for receivers to deduplicate on. */
const payoutEventId = (purchaseId: string, position: number): string => `evt_payout_${purchaseId}_${position}`;

export async function queuePayoutNotifications(
  tx: Prisma.TransactionClient,
  endpoints: readonly string[],
  payouts: readonly PayoutNotificationInput[],
  settledAt: Date,
): Promise<number> {
  if (endpoints.length === 0 || payouts.length === 0) return 0;
  const rows = payouts.flatMap(({ position, ...p }) => {
    const eventId = payoutEventId(p.purchaseId, position);
    const data: PayoutSettledData = { ...p, settledAt: settledAt.toISOString() };
    const payload = { id: eventId, type: NotificationType.PayoutSettled, created: settledAt.toISOString(), data: { ...data } };
    return endpoints.map((endpoint, i) => ({
      id: `${eventId}_${i}`,
      dedupeKey: `${eventId}:${endpoint}`,
      type: NotificationType.PayoutSettled,
      endpoint,
      payload,
    }));
  });
  const res = await tx.notificationOutbox.createMany({ data: rows, skipDuplicates: true });
  return res.count;
}

export interface DueNotification {
  id: string;
  endpoint: string;
  payload: unknown;
  attempts: number;
}

/** Undelivered notifications whose next attempt is due, oldest first. */
export const listDueNotifications = (db: Db, now: Date, limit: number): Promise<DueNotification[]> =>
  db.notificationOutbox.findMany({
    where: { deliveredAt: null, failedAt: null, nextAttemptAt: { lte: now } },
    orderBy: { nextAttemptAt: 'asc' },
    take: limit,
    select: { id: true, endpoint: true, payload: true, attempts: true },
  });

export async function markNotificationDelivered(db: Db, id: string, at: Date): Promise<void> {
  await db.notificationOutbox.update({ where: { id }, data: { deliveredAt: at, attempts: { increment: 1 }, lastError: null } });
}

/** A failed attempt: try again at `retryAt`, or give up when there is none. */
export async function markNotificationAttemptFailed(db: Db, id: string, error: string, retryAt: Date | null, now: Date): Promise<void> {
  await db.notificationOutbox.update({
    where: { id },
    data: { attempts: { increment: 1 }, lastError: error.slice(0, 500), ...(retryAt ? { nextAttemptAt: retryAt } : { failedAt: now }) },
  });
}
