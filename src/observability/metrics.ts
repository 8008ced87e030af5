/**
 * Gauges and the settlement-latency histogram, computed at scrape time from PostgreSQL so they
 * are right whichever process settled the purchase.
 */
import type { Metrics } from '../api/metrics';
import type { Db } from '../db/client';
import { treasuryPosition } from '../db/ledger';
import { countPurchasesByStatus, listSettledBetween } from '../db/purchases';
import { healthAlertState, settlementHealthFigures } from '../db/settlement-health';
import { getTreasuryOverview, type TreasuryOverviewDeps } from '../services/treasury';
import { HEALTH_CHECKS, healthAlertKind, successRatePct, type HealthThresholds } from '../shared/engine-health';
import { RAILS } from '../shared/status';

export function createScrapeCollector(
  db: Db,
  metrics: Metrics,
  thresholds: TreasuryOverviewDeps['thresholds'],
  now: () => Date = () => new Date(),
  health?: HealthThresholds,
) {
  // Only purchases settled after this process started are observed, each exactly once.
  let since = now();
  return async function collect(): Promise<void> {
    const until = now();
    const [byStatus, settled, positions, overview] = await Promise.all([
      countPurchasesByStatus(db),
      listSettledBetween(db, since, until),
      Promise.all(RAILS.map(async (rail) => [rail, await treasuryPosition(db, rail)] as const)),
      getTreasuryOverview({ db, thresholds, now: () => until }),
    ]);
    since = until;
    metrics.purchases.reset();
    for (const c of byStatus) metrics.purchases.set({ status: c.status }, c.count);
    for (const p of settled) metrics.settlementLatency.observe((p.updatedAt.getTime() - p.createdAt.getTime()) / 1000);
    for (const [rail, pos] of positions) {
      metrics.treasuryBalance.set({ rail }, Number(pos.balanceMicro));
      metrics.treasuryAvailable.set({ rail }, Number(pos.availableMicro));
    }
    // Runway as the treasury overview computes it (available ÷ last week's fronting); none when nothing was fronted.
    if (overview.runwayDays !== null) metrics.runwayDays.set(overview.runwayDays);
    else metrics.runwayDays.reset();
    if (health) await collectHealth(db, metrics, health, until);
  };
}

async function collectHealth(db: Db, metrics: Metrics, health: HealthThresholds, at: Date): Promise<void> {
  const [f, states] = await Promise.all([
    settlementHealthFigures(db, at, health.windowMs, health.maxPendingAgeMs),
    Promise.all(HEALTH_CHECKS.map(async (check) => [check, await healthAlertState(db, healthAlertKind(check))] as const)),
  ]);
  const rate = successRatePct(f);
  if (rate === null) metrics.successRatio.reset();
  else metrics.successRatio.set(rate / 100);
  metrics.windowOutcomes.set({ outcome: 'settled' }, f.settled);
  metrics.windowOutcomes.set({ outcome: 'failed' }, f.failed);
  metrics.pendingPurchases.set(f.pending);
  metrics.pendingOverAge.set(f.pendingOverAge);
  metrics.oldestPendingSeconds.set(f.oldestPendingSince ? (at.getTime() - f.oldestPendingSince.getTime()) / 1000 : 0);
  for (const [check, state] of states) metrics.healthAlertFiring.set({ check }, state.firing ? 1 : 0);
}
