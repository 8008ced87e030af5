/**
 * Daily trial check, started by the `subscription-trial-check` schedule. Drift is repaired first, so
 * the reminder and trial-end steps act on Stripe's current state rather than on a stale mirror.
 */
import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../shared/errors';

export interface TrialCheckResult {
  listed: number;
  driftTotal: number;
  repaired: number;
  remindersSent: string[];
  canceled: string[];
  markedPastDue: string[];
  alertsDelivered: boolean;
}

const work = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
});

const delivery = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 6 },
});

export async function subscriptionTrialCheckWorkflow(): Promise<TrialCheckResult> {
  const drift = await work.repairSubscriptionDrift();
  const reminders = await work.sendTrialReminders();
  const ended = await work.handleEndedTrials();
  let alertsDelivered = true;
  try {
    await delivery.deliverAlerts();
  } catch (err) {
    alertsDelivered = false;
    log.warn('alert delivery failed; notices stay in the outbox', { error: String(err) });
  }
  return {
    listed: drift.listed,
    driftTotal: drift.total,
    repaired: drift.repaired,
    remindersSent: reminders.sent,
    canceled: ended.canceled,
    markedPastDue: ended.markedPastDue,
    alertsDelivered,
  };
}
