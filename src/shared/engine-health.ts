/**
 * The engine health checks (sandbox-safe, pure): the settlement success rate over a window, the
 * pending backlog and the oldest pending purchase. The `engine-health-check` schedule evaluates them
 * every minute, raising an alert when one turns unhealthy and a resolve event when it recovers;
 * the API's /metrics shows the same figures.
 */

export const HealthCheck = {
  SuccessRate: 'success_rate',
  PendingCount: 'pending_count',
  PendingAge: 'pending_age',
} as const;
export type HealthCheck = (typeof HealthCheck)[keyof typeof HealthCheck];
export const HEALTH_CHECKS = Object.values(HealthCheck) as [HealthCheck, ...HealthCheck[]];

/** The alert outbox kind of a check's firing alert (its resolve event is `<kind>_resolved`). */
export const healthAlertKind = (check: HealthCheck): string => `health_${check}`;

export interface HealthThresholds {
  windowMs: number;
  minSuccessRatePct: number;
  maxPending: number;
  maxPendingAgeMs: number;
}

export interface HealthFigures {
  settled: number;
  failed: number;
  pending: number;
  pendingOverAge: number;
  oldestPendingAgeMs: number | null;
}

export interface HealthCheckResult {
  check: HealthCheck;
  healthy: boolean;
  /** what was measured: a percentage (null without outcomes in the window), a count, or milliseconds */
  value: number | null;
  threshold: number;
  message: string;
}

/** Settled ÷ (settled + failed) as a percentage; null when nothing ended in the window. */
export function successRatePct(f: Pick<HealthFigures, 'settled' | 'failed'>): number | null {
  const total = f.settled + f.failed;
  return total === 0 ? null : (f.settled * 100) / total;
}

const minutes = (ms: number) => `${Math.round(ms / 6000) / 10} min`;

export function evaluateHealth(f: HealthFigures, t: HealthThresholds): HealthCheckResult[] {
  const rate = successRatePct(f);
  return [
    {
      check: HealthCheck.SuccessRate,
      // Integer comparison: settled·100 < min·total, so 94.99…% never rounds up to 95%.
      healthy: f.settled + f.failed === 0 || f.settled * 100 >= t.minSuccessRatePct * (f.settled + f.failed),
      value: rate,
      threshold: t.minSuccessRatePct,
      message:
        rate === null
          ? `no settlement ended in the last ${minutes(t.windowMs)}`
          : `settlement success rate ${rate.toFixed(1)}% over the last ${minutes(t.windowMs)} (${f.settled} settled, ${f.failed} failed; minimum ${t.minSuccessRatePct}%)`,
    },
    {
      check: HealthCheck.PendingCount,
      healthy: f.pending <= t.maxPending,
      value: f.pending,
      threshold: t.maxPending,
      message: `${f.pending} purchases paid and not settled (at most ${t.maxPending})`,
    },
    {
      check: HealthCheck.PendingAge,
      healthy: f.oldestPendingAgeMs === null || f.oldestPendingAgeMs <= t.maxPendingAgeMs,
      value: f.oldestPendingAgeMs,
      threshold: t.maxPendingAgeMs,
      message:
        f.oldestPendingAgeMs === null
          ? 'no purchase is pending'
          : `the oldest pending purchase has waited ${minutes(f.oldestPendingAgeMs)} in its status; ${f.pendingOverAge} waited longer than ${minutes(t.maxPendingAgeMs)}`,
    },
  ];
}
