/**
 * The alert outbox: an alert is queued under a dedupe key (raising the same condition twice queues
 * it once) and stays until a delivery to ALERT_WEBHOOK_URL succeeds.
 */
import type { Db, Prisma } from './client';
import { newId } from './ids';

type AlertPayload = Record<string, string | number | boolean | null>;

export interface QueuedAlert {
  /** one alert per key: re-raising the same condition changes nothing */
  dedupeKey: string;
  severity: 'info' | 'warning' | 'critical';
  kind: string;
  message: string;
  payload?: AlertPayload;
}

export interface PendingAlert {
  id: string;
  dedupeKey: string;
  severity: string;
  kind: string;
  message: string;
  payload: unknown;
  createdAt: Date;
}

/** Queue alerts, skipping every dedupe key already queued. Returns how many were new. */
export async function queueAlerts(db: Db | Prisma.TransactionClient, alerts: readonly QueuedAlert[]): Promise<number> {
  if (alerts.length === 0) return 0;
  const res = await db.alertOutbox.createMany({
    data: alerts.map((a) => ({
      id: newId('alert'),
      dedupeKey: a.dedupeKey,
      severity: a.severity,
      kind: a.kind,
      message: a.message,
      payload: a.payload ?? {},
    })),
    skipDuplicates: true,
  });
  return res.count;
}

/** Undelivered alerts, oldest first. */
export function listUndeliveredAlerts(db: Db, limit: number): Promise<PendingAlert[]> {
  return db.alertOutbox.findMany({
    where: { deliveredAt: null },
    orderBy: { createdAt: 'asc' },
    take: limit,
    select: { id: true, dedupeKey: true, severity: true, kind: true, message: true, payload: true, createdAt: true },
  });
}

export async function markAlertDelivered(db: Db, id: string, at: Date): Promise<void> {
  await db.alertOutbox.update({ where: { id }, data: { deliveredAt: at, attempts: { increment: 1 } } });
}

export async function markAlertDeliveryFailed(db: Db, id: string, error: string): Promise<void> {
  await db.alertOutbox.update({ where: { id }, data: { attempts: { increment: 1 }, lastError: error.slice(0, 500) } });
}
