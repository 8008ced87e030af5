/**
 * Pure treasury arithmetic shared by the reconciliation workflow, its activities and the admin view.
 * Sandbox-safe: no I/O. Money is bigint micro-USDC (1 cent = 10_000); days are whole numbers.
 */
export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;
const RECONCILIATION_PERIOD_DAYS = 7n;

export type TreasuryHealth = 'healthy' | 'warning' | 'critical';

export interface Period {
  /** ISO timestamps; the period is [periodStart, periodEnd). */
  periodStart: string;
  periodEnd: string;
}

/**
 * The reconciliation period for a run scheduled (or started) at `at`: the last complete UTC week,
 * Monday 00:00 to Monday 00:00, that ended at or before `at`. Every run inside the same week — the
 * Monday 09:00 schedule, a catch-up, a manual trigger on Wednesday — reconciles the same period.
 */
export function reconciliationPeriod(at: Date): Period {
  const dayStart = Math.floor(at.getTime() / DAY_MS) * DAY_MS;
  // getUTCDay: 0 = Sunday … 6 = Saturday; days since the most recent Monday.
  const sinceMonday = (new Date(dayStart).getUTCDay() + 6) % 7;
  const periodEnd = dayStart - sinceMonday * DAY_MS;
  return { periodStart: new Date(periodEnd - WEEK_MS).toISOString(), periodEnd: new Date(periodEnd).toISOString() };
}

/**
 * Whole days the balance lasts at the period's average daily fronting:
 * floor(balance ÷ (fronted ÷ days)) = floor(balance × days ÷ fronted). Null when nothing was fronted
 * (no spending, no depletion date); 0 when the balance is empty or negative.
 */
export function runwayDays(balanceMicro: bigint, frontedMicro: bigint, periodDays: bigint = RECONCILIATION_PERIOD_DAYS): bigint | null {
  if (frontedMicro <= 0n) return null;
  if (balanceMicro <= 0n) return 0n;
  return (balanceMicro * periodDays) / frontedMicro;
}

export interface HealthThresholds {
  /** TREASURY_WARNING_BALANCE_CENTS (default 200_000 = $2,000) */
  warningBalanceCents: bigint;
  /** RUNWAY_WARNING_DAYS (default 7) */
  runwayWarningDays: number;
}

/**
 * - `warning`: exactly one threshold is breached — available balance strictly below the warning
 *   balance, or runway strictly below the warning days.
 * - `critical`: both are breached, or nothing is available at all (no purchase can be fronted).
 * - `healthy`: neither. A balance exactly at the threshold, or a runway of exactly N days, is healthy.
 */
export function treasuryHealth(input: { availableMicro: bigint; runwayDays: bigint | null }, t: HealthThresholds): TreasuryHealth {
  if (input.availableMicro <= 0n) return 'critical';
  const lowBalance = input.availableMicro < t.warningBalanceCents * 10_000n;
  const shortRunway = input.runwayDays !== null && input.runwayDays < BigInt(t.runwayWarningDays);
  if (lowBalance && shortRunway) return 'critical';
  if (lowBalance || shortRunway) return 'warning';
  return 'healthy';
}
