/**
 * Temporal Schedules: created or updated idempotently at worker start under fixed ids,
 * visible in the Temporal UI, and triggerable by hand from the admin API and the ops CLI.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptions,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { durationMs } from '../shared/duration';
import { DomainError, ErrorType } from '../shared/errors';
import { engineHealthCheckWorkflow, subscriptionTrialCheckWorkflow, treasuryReconciliationWorkflow } from '../workflows';
import type { ReconciliationInput } from '../workflows/reconciliation';

export const ScheduleId = {
  TreasuryReconciliation: 'treasury-reconciliation',
  SubscriptionTrialCheck: 'subscription-trial-check',
  EngineHealthCheck: 'engine-health-check',
} as const;
export type ScheduleId = (typeof ScheduleId)[keyof typeof ScheduleId];
export const SCHEDULE_IDS: readonly string[] = Object.values(ScheduleId);

export type ScheduleConfig = Pick<
  Config,
  'RECONCILIATION_CRON' | 'TRIAL_CHECK_CRON' | 'HEALTH_CHECK_CRON' | 'SCHEDULE_CATCHUP_WINDOW' | 'TEMPORAL_TASK_QUEUE'
>;

/** Workflow id of a reconciliation started by hand for one period (the schedule adds its own suffix). */
export const reconciliationWorkflowId = (periodStart: string): string => `${ScheduleId.TreasuryReconciliation}-${periodStart}`;

type Definition = ScheduleOptions<ScheduleOptionsStartWorkflowAction<Workflow>>;

function scheduleDefinitions(config: ScheduleConfig, taskQueue = config.TEMPORAL_TASK_QUEUE): Definition[] {
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: durationMs(config.SCHEDULE_CATCHUP_WINDOW) };
  return [
    {
      scheduleId: ScheduleId.TreasuryReconciliation,
      spec: { cronExpressions: [config.RECONCILIATION_CRON], timezone: 'UTC' },
      action: {
        type: 'startWorkflow',
        workflowType: treasuryReconciliationWorkflow,
        taskQueue,
        workflowId: ScheduleId.TreasuryReconciliation,
        args: [{} satisfies ReconciliationInput],
      },
      policies,
    },
    {
      scheduleId: ScheduleId.SubscriptionTrialCheck,
      spec: { cronExpressions: [config.TRIAL_CHECK_CRON], timezone: 'UTC' },
      action: {
        type: 'startWorkflow',
        workflowType: subscriptionTrialCheckWorkflow,
        taskQueue,
        workflowId: ScheduleId.SubscriptionTrialCheck,
        args: [],
      },
      policies,
    },
    {
      scheduleId: ScheduleId.EngineHealthCheck,
      spec: { cronExpressions: [config.HEALTH_CHECK_CRON], timezone: 'UTC' },
      action: {
        type: 'startWorkflow',
        workflowType: engineHealthCheckWorkflow,
        taskQueue,
        workflowId: ScheduleId.EngineHealthCheck,
        args: [],
        workflowRunTimeout: '5 minutes',
      },
      // A missed minute is not worth catching up: the next run measures the present.
      policies: { ...policies, catchupWindow: 60_000 },
    },
  ];
}

/**
 * Create each schedule, or bring an existing one in line with config (spec, action, policies), keeping
 * its paused state. Safe to run at every worker start, from several workers at once.
 */
export async function ensureSchedules(
  client: Client,
  config: ScheduleConfig,
  logger?: Logger,
  taskQueue?: string,
): Promise<{ scheduleId: string; outcome: 'created' | 'updated' }[]> {
  const results: { scheduleId: string; outcome: 'created' | 'updated' }[] = [];
  for (const def of scheduleDefinitions(config, taskQueue)) {
    try {
      await client.schedule.create(def);
      results.push({ scheduleId: def.scheduleId, outcome: 'created' });
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule
        .getHandle(def.scheduleId)
        .update((prev) => ({ ...prev, spec: def.spec, action: def.action, policies: { ...prev.policies, ...def.policies } }));
      results.push({ scheduleId: def.scheduleId, outcome: 'updated' });
    }
    logger?.info({ scheduleId: def.scheduleId, cron: def.spec.cronExpressions }, 'schedule ensured');
  }
  return results;
}

/**
 * Run a schedule's action now (admin API, `npm run ops`). It uses the schedules' SKIP policy, so a
 * trigger while a run is still in flight is dropped rather than run twice.
 */
export async function triggerSchedule(client: Client, id: string): Promise<{ scheduleId: string; triggeredAt: string }> {
  if (!SCHEDULE_IDS.includes(id)) throw new DomainError(ErrorType.NotFound, `unknown schedule ${id}; known: ${SCHEDULE_IDS.join(', ')}`);
  try {
    await client.schedule.getHandle(id).trigger(ScheduleOverlapPolicy.SKIP);
  } catch (err) {
    if (err instanceof ScheduleNotFoundError)
      throw new DomainError(ErrorType.NotFound, `schedule ${id} does not exist yet (the worker creates it at start)`);
    throw err;
  }
  return { scheduleId: id, triggeredAt: new Date().toISOString() };
}

/** For the admin API: spec, policies, next and recent runs of each schedule. */
export async function describeSchedules(client: Client) {
  return Promise.all(
    SCHEDULE_IDS.map(async (id) => {
      try {
        const d = await client.schedule.getHandle(id).describe();
        return {
          scheduleId: id,
          paused: d.state.paused,
          overlap: d.policies.overlap,
          nextActionTimes: d.info.nextActionTimes.map((t) => t.toISOString()),
          recentActions: d.info.recentActions.map((a) => ({
            scheduledAt: a.scheduledAt.toISOString(),
            takenAt: a.takenAt.toISOString(),
            workflowId: a.action.workflow.workflowId,
          })),
        };
      } catch (err) {
        if (err instanceof ScheduleNotFoundError) return { scheduleId: id, missing: true as const };
        throw err;
      }
    }),
  );
}
