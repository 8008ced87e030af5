/**
 * The engine health check, started every minute by the `engine-health-check` schedule: fire or clear
 * the health alerts, then deliver the alert outbox and the creator notification outbox. Deliveries
 * that fail stay in their outbox for the next run.
 */
import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { HealthCheckOutcome } from '../activities/health';
import { NON_RETRYABLE_ERROR_TYPES } from '../shared/errors';

export interface EngineHealthResult {
  checks: HealthCheckOutcome[];
  alertsDelivered: boolean;
  notificationsDelivered: number;
  notificationsFailed: number;
}

const work = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '20 seconds',
    maximumAttempts: 3,
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
});

/** One attempt per run: the next run, a minute later, is the retry. */
const delivery = proxyActivities<Activities>({ startToCloseTimeout: '50 seconds', retry: { maximumAttempts: 1 } });

export async function engineHealthCheckWorkflow(): Promise<EngineHealthResult> {
  const checks = await work.checkEngineHealth();
  let alertsDelivered = true;
  try {
    await delivery.deliverAlerts();
  } catch (err) {
    alertsDelivered = false;
    log.warn('alert delivery failed; alerts stay in the outbox', { error: String(err) });
  }
  const notifications = await delivery.deliverCreatorNotifications().catch((err: unknown) => {
    log.warn('creator notification delivery failed; they stay in the outbox', { error: String(err) });
    return { delivered: 0, failed: 0 };
  });
  return { checks, alertsDelivered, notificationsDelivered: notifications.delivered, notificationsFailed: notifications.failed };
}
