/**
 * Activity failures by activity and error type. One counter per process: the worker's interceptor
 * increments it, and the API registers it in its /metrics registry when both run in one process
 * (the e2e harness). A worker in its own process (the dev stack) exports the same count through the
 * SDK's metric meter on WORKER_METRICS_PORT (`settlement_activity_failures`, next to Temporal's own
 * `temporal_activity_execution_failed`).
 */
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../shared/errors';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { Counter, Registry } from 'prom-client';
import type { Logger } from 'pino';

const NAME = 'settlement_activity_failures_total';
export const activityFailures = new Counter({
  name: NAME,
  help: 'Activity attempts that failed, by activity and error type',
  labelNames: ['activity', 'type'],
  registers: [],
});

/** Adds the process-wide activity counter to a registry (idempotent per registry). */
export function registerActivityMetrics(registry: Registry): void {
  if (!registry.getSingleMetric(NAME)) registry.registerMetric(activityFailures);
}

function errorTypeOf(err: unknown): string {
  if (err instanceof ApplicationFailure) return err.type ?? 'application_error';
  if (typeof err === 'object' && err !== null && 'type' in err && typeof err.type === 'string') return err.type;
  if (err instanceof Error && err.name === 'CancelledFailure') return ErrorType.Cancelled;
  return 'error';
}

/**
 * Counts and logs each failed activity attempt; the log line carries workflowId, runId and
 * purchaseId through the activity-context mixin (src/observability/log-context.ts).
 */
export function activityObservability(logger?: Logger): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        try {
          return await next(input);
        } catch (err) {
          const type = errorTypeOf(err);
          activityFailures.inc({ activity: ctx.info.activityType, type });
          // Also through the SDK's meter, so a worker in its own process exports it on WORKER_METRICS_PORT.
          ctx.metricMeter
            .createCounter('settlement_activity_failures', 'attempts', 'Activity attempts that failed, by activity and error type')
            .add(1, { activity: ctx.info.activityType, type });
          logger?.warn(
            {
              activity: ctx.info.activityType,
              attempt: ctx.info.attempt,
              errorType: type,
              err: err instanceof Error ? err.message : String(err),
            },
            'activity attempt failed',
          );
          throw err;
        }
      },
    },
  });
}
