/**
 * Treasury figures shared by the reconciliation activities, GET /admin/treasury and the /admin page.
 * Reads PostgreSQL only; money is bigint inside and decimal strings in the returned JSON.
 */
import type { Db } from '../db/client';
import { Account, countStaleHolds, listSettlementJournals, treasuryPosition } from '../db/ledger';
import { listPurchaseFees } from '../db/purchases';
import { loadLastReconciliation, type LastReconciliation } from '../db/reconciliations';
import { MICRO_PER_CENT } from '../shared/money';
import { Rail } from '../shared/status';
import { runwayDays, treasuryHealth, WEEK_MS, type HealthThresholds, type TreasuryHealth } from '../shared/treasury-health';

/** One ledger treasury account per chain family (solana-anchor shares the Solana treasury). */
export const TREASURY_RAILS = [Rail.Solana, Rail.Evm] as const;

/** A runway beyond this many days is reported as this (it fits the Int column and means "plenty"). */
const RUNWAY_CAP_DAYS = 36_500n;

interface PeriodFee {
  purchaseId: string;
  chargeId: string | null;
  stripeFeeCents: bigint;
}

export interface PeriodStats {
  purchaseCount: number;
  frontedMicroUsdc: bigint;
  platformFeesCents: bigint;
  stripeFeesCents: bigint;
  /** USD to convert back into USDC to restore the treasury: what it fronted, in cents (rounded up). */
  netToReplenishCents: bigint;
  fees: PeriodFee[];
}

/** Purchases settled (ledger journal `purchase_settled`) in [start, end). */
export async function periodStats(db: Db, start: Date, end: Date): Promise<PeriodStats> {
  const txs = await listSettlementJournals(db, start, end);
  const purchases = await listPurchaseFees(
    db,
    txs.map((t) => t.purchaseId).filter((id): id is string => id !== null),
  );
  const byId = new Map(purchases.map((p) => [p.id, p]));
  let fronted = 0n;
  let stripeFeesMicro = 0n;
  let platformFees = 0n;
  const fees: PeriodFee[] = [];
  for (const t of txs) {
    const feeMicro = t.entries.filter((e) => e.accountCode === Account.stripeFees).reduce((s, e) => s + e.amountMicro, 0n);
    fronted += t.entries.filter((e) => e.accountCode === Account.creatorPayouts).reduce((s, e) => s + e.amountMicro, 0n);
    stripeFeesMicro += feeMicro;
    const p = t.purchaseId ? byId.get(t.purchaseId) : undefined;
    platformFees += p?.platformFeeCents ?? 0n;
    if (t.purchaseId) fees.push({ purchaseId: t.purchaseId, chargeId: p?.chargeId ?? null, stripeFeeCents: feeMicro / MICRO_PER_CENT });
  }
  return {
    purchaseCount: txs.length,
    frontedMicroUsdc: fronted,
    platformFeesCents: platformFees,
    stripeFeesCents: stripeFeesMicro / MICRO_PER_CENT,
    netToReplenishCents: (fronted + MICRO_PER_CENT - 1n) / MICRO_PER_CENT,
    fees,
  };
}

export interface TreasuryTotals {
  balanceMicro: bigint;
  openHoldsMicro: bigint;
  availableMicro: bigint;
  accounts: { rail: Rail; account: string; balanceMicro: bigint; openHoldsMicro: bigint; availableMicro: bigint }[];
}

export async function treasuryTotals(db: Db): Promise<TreasuryTotals> {
  const accounts = await Promise.all(
    TREASURY_RAILS.map(async (rail) => ({ rail, account: Account.treasury(rail), ...(await treasuryPosition(db, rail)) })),
  );
  const sum = (f: (a: (typeof accounts)[number]) => bigint) => accounts.reduce((s, a) => s + f(a), 0n);
  return {
    balanceMicro: sum((a) => a.balanceMicro),
    openHoldsMicro: sum((a) => a.openHoldsMicro),
    availableMicro: sum((a) => a.availableMicro),
    accounts,
  };
}

/** Runway (capped) and health from the available balance and a week's fronting. */
export function assessTreasury(
  availableMicro: bigint,
  frontedPerWeekMicro: bigint,
  thresholds: HealthThresholds,
): { runwayDays: bigint | null; health: TreasuryHealth } {
  const raw = runwayDays(availableMicro, frontedPerWeekMicro);
  const runway = raw !== null && raw > RUNWAY_CAP_DAYS ? RUNWAY_CAP_DAYS : raw;
  return { runwayDays: runway, health: treasuryHealth({ availableMicro, runwayDays: runway }, thresholds) };
}

export interface TreasuryOverviewDeps {
  db: Db;
  thresholds: HealthThresholds;
  now?: () => Date;
}

const str = (v: bigint) => v.toString();

function reconciliationJson(r: LastReconciliation) {
  if (!r) return null;
  return {
    id: r.id,
    periodStart: r.periodStart.toISOString(),
    periodEnd: r.periodEnd.toISOString(),
    purchaseCount: r.purchaseCount,
    frontedMicroUsdc: str(r.frontedMicroUsdc),
    platformFeesCents: str(r.platformFeesCents),
    stripeFeesCents: str(r.stripeFeesCents),
    netToReplenishCents: str(r.netToReplenishCents),
    ledgerTreasuryMicroUsdc: str(r.ledgerTreasuryMicroUsdc),
    chainTreasuryMicroUsdc: str(r.chainTreasuryMicroUsdc),
    openHoldsMicroUsdc: str(r.openHoldsMicroUsdc),
    runwayDays: r.runwayDays,
    health: r.health,
    staleHolds: r.staleHolds,
    createdAt: r.createdAt.toISOString(),
    discrepancies: r.discrepancies.map((d) => ({ kind: d.kind, reference: d.reference, expected: d.expected, actual: d.actual })),
  };
}

/** GET /admin/treasury and the /admin page: live position, runway, health, weekly stats, last reconciliation. */
export async function getTreasuryOverview(deps: TreasuryOverviewDeps) {
  const now = (deps.now ?? (() => new Date()))();
  const weekStart = new Date(now.getTime() - WEEK_MS);
  const [totals, week, last, stale] = await Promise.all([
    treasuryTotals(deps.db),
    periodStats(deps.db, weekStart, now),
    loadLastReconciliation(deps.db),
    countStaleHolds(deps.db, now),
  ]);
  const { runwayDays: runway, health } = assessTreasury(totals.availableMicro, week.frontedMicroUsdc, deps.thresholds);
  return {
    asOf: now.toISOString(),
    balanceMicroUsdc: str(totals.balanceMicro),
    openHoldsMicroUsdc: str(totals.openHoldsMicro),
    availableMicroUsdc: str(totals.availableMicro),
    accounts: totals.accounts.map((a) => ({
      rail: a.rail,
      account: a.account,
      balanceMicroUsdc: str(a.balanceMicro),
      openHoldsMicroUsdc: str(a.openHoldsMicro),
      availableMicroUsdc: str(a.availableMicro),
    })),
    runwayDays: runway === null ? null : Number(runway),
    health,
    thresholds: { warningBalanceCents: str(deps.thresholds.warningBalanceCents), runwayWarningDays: deps.thresholds.runwayWarningDays },
    staleHoldCount: stale,
    weeklyStats: {
      periodStart: weekStart.toISOString(),
      periodEnd: now.toISOString(),
      purchaseCount: week.purchaseCount,
      frontedMicroUsdc: str(week.frontedMicroUsdc),
      platformFeesCents: str(week.platformFeesCents),
      stripeFeesCents: str(week.stripeFeesCents),
      netToReplenishCents: str(week.netToReplenishCents),
    },
    lastReconciliation: reconciliationJson(last),
  };
}
