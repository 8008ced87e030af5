/**
 * Time series for the /admin page's charts: the treasury balance and available amount per hour,
 * settlements and failures per hour, and the weekly reconciliations with their discrepancies.
 */
import { PurchaseStatus } from '../shared/status';
import type { Db } from './client';
import { Account, HoldStatus } from './ledger';

const HOUR_MS = 3_600_000;

export interface TreasuryPoint {
  at: Date;
  balanceMicro: bigint;
  availableMicro: bigint;
}

export interface HourlyOutcomes {
  hourStart: Date;
  settled: number;
  failed: number;
}

/** The end of each hour in (since, now], with now itself as the last point. */
function hourMarks(since: Date, now: Date): Date[] {
  const marks: Date[] = [];
  for (let t = Math.floor(since.getTime() / HOUR_MS) * HOUR_MS + HOUR_MS; t < now.getTime(); t += HOUR_MS) marks.push(new Date(t));
  marks.push(now);
  return marks;
}

/** Balance and available (balance − open holds) of one treasury account at the end of each hour since `since`. */
export async function treasurySeries(
  db: Db,
  rail: Parameters<typeof Account.treasury>[0],
  since: Date,
  now: Date,
): Promise<TreasuryPoint[]> {
  const account = Account.treasury(rail);
  const [before, entries, holds] = await Promise.all([
    db.journalEntry.aggregate({ where: { accountCode: account, createdAt: { lt: since } }, _sum: { amountMicro: true } }),
    db.journalEntry.findMany({
      where: { accountCode: account, createdAt: { gte: since, lte: now } },
      orderBy: { createdAt: 'asc' },
      select: { amountMicro: true, createdAt: true },
    }),
    // Holds open at some point of the window: still pending, or closed after it started.
    db.treasuryHold.findMany({
      where: { account, createdAt: { lte: now }, OR: [{ status: HoldStatus.Pending }, { updatedAt: { gte: since } }] },
      select: { amountMicro: true, status: true, createdAt: true, updatedAt: true },
    }),
  ]);
  let balance = before._sum.amountMicro ?? 0n;
  let i = 0;
  return hourMarks(since, now).map((at) => {
    while (i < entries.length && (entries[i]?.createdAt.getTime() ?? Infinity) <= at.getTime()) balance += entries[i++]?.amountMicro ?? 0n;
    const open = holds
      .filter((h) => h.createdAt <= at && (h.status === HoldStatus.Pending || h.updatedAt > at))
      .reduce((s, h) => s + h.amountMicro, 0n);
    return { at, balanceMicro: balance, availableMicro: balance - open };
  });
}

/** Purchases that settled or failed in each hour since `since` (by their last status change). */
export async function hourlyOutcomes(db: Db, since: Date, now: Date): Promise<HourlyOutcomes[]> {
  const rows = await db.purchase.findMany({
    where: { status: { in: [PurchaseStatus.Settled, PurchaseStatus.Failed] }, updatedAt: { gte: since, lte: now } },
    select: { status: true, updatedAt: true },
  });
  const first = Math.floor(since.getTime() / HOUR_MS) * HOUR_MS;
  const buckets: HourlyOutcomes[] = [];
  for (let t = first; t <= now.getTime(); t += HOUR_MS) buckets.push({ hourStart: new Date(t), settled: 0, failed: 0 });
  for (const r of rows) {
    const b = buckets[Math.floor((r.updatedAt.getTime() - first) / HOUR_MS)];
    if (!b) continue;
    if (r.status === PurchaseStatus.Settled) b.settled += 1;
    else b.failed += 1;
  }
  return buckets;
}

/** The newest weekly reconciliations, oldest first, with their discrepancies. */
export async function reconciliationHistory(db: Db, weeks: number) {
  const rows = await db.treasuryReconciliation.findMany({
    orderBy: { periodStart: 'desc' },
    take: weeks,
    include: { discrepancies: { orderBy: [{ kind: 'asc' }, { reference: 'asc' }] } },
  });
  return rows.reverse();
}
