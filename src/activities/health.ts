/**
 * The engine health check run by the `engine-health-check` schedule: measure, compare with the
 * thresholds, and keep the alert outbox in step. A check that turns unhealthy queues one firing
 * alert (`health_<check>`, deduplicated per episode); when it is healthy again one resolve event
 * (`health_<check>_resolved`) is queued, and the next episode gets a new key.
 */
import type { Logger } from 'pino';
import type { Config } from '../config';
import { queueAlerts } from '../db/alerts';
import type { Db } from '../db/client';
import { healthAlertState, resolvedKind, settlementHealthFigures } from '../db/settlement-health';
import { durationMs } from '../shared/duration';
import { evaluateHealth, healthAlertKind, type HealthCheck, type HealthCheckResult, type HealthThresholds } from '../shared/engine-health';

export interface HealthActivityDeps {
  db: Db;
  logger: Logger;
  /** defaults to the config defaults (95% over 15 minutes, 100 pending, 3 minutes) */
  healthThresholds?: HealthThresholds;
  now?: () => Date;
}

export function healthThresholdsOf(
  config: Pick<Config, 'HEALTH_WINDOW' | 'HEALTH_MIN_SUCCESS_RATE_PCT' | 'HEALTH_MAX_PENDING' | 'HEALTH_PENDING_MAX_AGE'>,
): HealthThresholds {
  return {
    windowMs: durationMs(config.HEALTH_WINDOW),
    minSuccessRatePct: config.HEALTH_MIN_SUCCESS_RATE_PCT,
    maxPending: config.HEALTH_MAX_PENDING,
    maxPendingAgeMs: durationMs(config.HEALTH_PENDING_MAX_AGE),
  };
}

export interface HealthCheckOutcome {
  check: HealthCheck;
  healthy: boolean;
  value: number | null;
  threshold: number;
  /** what this run did to the check's alert */
  alert: 'fired' | 'resolved' | 'unchanged';
}

/** Measure the engine, then fire or clear each check's alert. */
async function runHealthChecks(db: Db, thresholds: HealthThresholds, now: Date, logger?: Logger): Promise<HealthCheckOutcome[]> {
  const f = await settlementHealthFigures(db, now, thresholds.windowMs, thresholds.maxPendingAgeMs);
  const results = evaluateHealth(
    { ...f, oldestPendingAgeMs: f.oldestPendingSince ? now.getTime() - f.oldestPendingSince.getTime() : null },
    thresholds,
  );
  const outcomes: HealthCheckOutcome[] = [];
  for (const r of results)
    outcomes.push({ check: r.check, healthy: r.healthy, value: r.value, threshold: r.threshold, alert: await syncAlert(db, r, logger) });
  return outcomes;
}

async function syncAlert(db: Db, r: HealthCheckResult, logger?: Logger): Promise<HealthCheckOutcome['alert']> {
  const kind = healthAlertKind(r.check);
  const state = await healthAlertState(db, kind);
  const payload = { check: r.check, value: r.value, threshold: r.threshold };
  if (!r.healthy && !state.firing) {
    const episode = state.episodes + 1;
    // The episode in the key makes a retried activity queue nothing twice, and a later episode a new alert.
    const created = await queueAlerts(db, [
      { dedupeKey: `health:${r.check}:${episode}:fired`, severity: 'critical', kind, message: r.message, payload: { ...payload, episode } },
    ]);
    if (created) logger?.warn({ alert: kind, ...payload }, r.message);
    return 'fired';
  }
  if (r.healthy && state.firing) {
    const created = await queueAlerts(db, [
      {
        dedupeKey: `health:${r.check}:${state.episodes}:resolved`,
        severity: 'info',
        kind: resolvedKind(kind),
        message: `resolved: ${r.message}`,
        payload: { ...payload, episode: state.episodes },
      },
    ]);
    if (created) logger?.info({ alert: resolvedKind(kind), ...payload }, `resolved: ${r.message}`);
    return 'resolved';
  }
  return 'unchanged';
}

const DEFAULT_HEALTH_THRESHOLDS: HealthThresholds = {
  windowMs: 15 * 60_000,
  minSuccessRatePct: 95,
  maxPending: 100,
  maxPendingAgeMs: 3 * 60_000,
};

export function createHealthActivities({
  db,
  logger,
  healthThresholds = DEFAULT_HEALTH_THRESHOLDS,
  now = () => new Date(),
}: HealthActivityDeps) {
  return {
    async checkEngineHealth(): Promise<HealthCheckOutcome[]> {
      return runHealthChecks(db, healthThresholds, now(), logger);
    },
  };
}
