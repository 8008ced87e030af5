/**
 * Weekly treasury reconciliation, started by the `treasury-reconciliation` schedule (or by hand as
 * `treasury-reconciliation-<periodStart>`). The period comes from the schedule's scheduled time, so a
 * retry, a reset or a manual trigger in the same week reconciles the same period and rewrites the same row.
 */
import { log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { Activities } from '../activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../shared/errors';
import { reconciliationPeriod, type TreasuryHealth } from '../shared/treasury-health';

export interface ReconciliationInput {
  /** any instant inside the week after the period to reconcile (ISO); defaults to the scheduled time */
  at?: string;
}

export interface ReconciliationResult {
  reconciliationId: string;
  periodStart: string;
  periodEnd: string;
  health: TreasuryHealth;
  runwayDays: number | null;
  discrepancies: number;
  staleHolds: number;
  alertsRaised: number;
  alertsDelivered: boolean;
}

/** Set by the Temporal server on every workflow a schedule starts. */
const ScheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

const nonRetryableErrorTypes = [...NON_RETRYABLE_ERROR_TYPES];

const work = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 10, nonRetryableErrorTypes },
});

/** The webhook may be down: a bounded retry, then the alerts wait in the outbox for the next run. */
const delivery = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 6 },
});

function scheduledTime(): Date {
  const info = workflowInfo();
  return info.typedSearchAttributes.get(ScheduledStartTime) ?? info.startTime;
}

export async function treasuryReconciliationWorkflow(input: ReconciliationInput = {}): Promise<ReconciliationResult> {
  const period = reconciliationPeriod(input.at ? new Date(input.at) : scheduledTime());
  const report = await work.computeTreasuryReconciliation(period);
  const saved = await work.recordTreasuryReconciliation(report);
  let alertsDelivered = true;
  try {
    await delivery.deliverAlerts();
  } catch (err) {
    alertsDelivered = false;
    log.warn('alert delivery failed; alerts stay in the outbox', { error: String(err) });
  }
  return {
    reconciliationId: saved.reconciliationId,
    periodStart: report.periodStart,
    periodEnd: report.periodEnd,
    health: report.health,
    runwayDays: report.runwayDays,
    discrepancies: report.discrepancies.length,
    staleHolds: report.staleHolds.length,
    alertsRaised: saved.alertsRaised,
    alertsDelivered,
  };
}
