/**
 * Figures behind the engine health checks and their metrics: settlement outcomes in a window, and
 * purchases paid but not yet settled. Reads the (status, updatedAt) index only. Also the health
 * alerts' state, which lives in the alert outbox itself: a check is firing while its newest outbox
 * row is a firing alert rather than a resolve event.
 */
import { PurchaseStatus } from '../shared/status';
import type { Db } from './client';

/**
 * Paid and on the way to settlement. `awaiting_approval` is left out: it waits for a person, up
 * to APPROVAL_TIMEOUT, and is not a sign of an unhealthy engine.
 */
const HEALTH_PENDING_STATUSES: readonly PurchaseStatus[] = [
  PurchaseStatus.Paid,
  PurchaseStatus.FeeCaptured,
  PurchaseStatus.TreasuryReserved,
  PurchaseStatus.Settling,
  PurchaseStatus.AwaitingTreasury,
];

export interface SettlementHealthFigures {
  /** purchases that reached `settled` / `failed` in the window (by their last status change) */
  settled: number;
  failed: number;
  /** purchases in a pending status now */
  pending: number;
  /** of those, how many have been in their status longer than the age limit */
  pendingOverAge: number;
  /** when the longest-waiting pending purchase entered its status; null when none is pending */
  oldestPendingSince: Date | null;
}

export async function settlementHealthFigures(
  db: Db,
  now: Date,
  windowMs: number,
  maxPendingAgeMs: number,
): Promise<SettlementHealthFigures> {
  const windowStart = new Date(now.getTime() - windowMs);
  const ageLimit = new Date(now.getTime() - maxPendingAgeMs);
  const pendingWhere = { status: { in: [...HEALTH_PENDING_STATUSES] } };
  const [settled, failed, pending, pendingOverAge, oldest] = await Promise.all([
    db.purchase.count({ where: { status: PurchaseStatus.Settled, updatedAt: { gte: windowStart, lte: now } } }),
    db.purchase.count({ where: { status: PurchaseStatus.Failed, updatedAt: { gte: windowStart, lte: now } } }),
    db.purchase.count({ where: pendingWhere }),
    db.purchase.count({ where: { ...pendingWhere, updatedAt: { lt: ageLimit } } }),
    db.purchase.findFirst({ where: pendingWhere, orderBy: { updatedAt: 'asc' }, select: { updatedAt: true } }),
  ]);
  return { settled, failed, pending, pendingOverAge, oldestPendingSince: oldest?.updatedAt ?? null };
}

export interface HealthAlertState {
  /** firing alerts raised for this check so far (the episode number of the next one is this + 1) */
  episodes: number;
  /** true while the newest of its outbox rows is a firing alert */
  firing: boolean;
}

/** The alert outbox kinds of one check: `<kind>` fires, `<kind>_resolved` clears. */
export const resolvedKind = (kind: string): string => `${kind}_resolved`;

export async function healthAlertState(db: Db, kind: string): Promise<HealthAlertState> {
  const [episodes, newest] = await Promise.all([
    db.alertOutbox.count({ where: { kind } }),
    db.alertOutbox.findFirst({
      where: { kind: { in: [kind, resolvedKind(kind)] } },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      select: { kind: true },
    }),
  ]);
  return { episodes, firing: newest?.kind === kind };
}
