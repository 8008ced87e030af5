/**
 * The operator actions on purchase runs: reset, cancel, terminate, approve / reject, retry,
 * treasury-replenished, batch reset and schedule triggers.
 *
 * Every action is idempotent and audited: a repeat of an action that already took effect answers
 * `alreadyApplied: true`, and an action that makes no sense for the run's current state throws a
 * `conflict` DomainError (409) that explains why; the audit row records the refusal too.
 */
import { createHash } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { hasSucceeded } from '../../db/audit-log';
import { findPurchaseIdsWithStatus, findPurchaseStatus } from '../../db/purchases';
import { DomainError, ErrorType } from '../../shared/errors';
import { purchaseWorkflowId } from '../../shared/ids';
import { PurchaseStatus } from '../../shared/status';
import { approveSignal, rejectSignal, retryNowSignal, treasuryReplenishedSignal } from '../../workflows/definitions';
import { audited } from '../audit';
import { triggerSchedule } from '../schedules';
import { int64ToNumber, isWorkflowTaskCompleted, toInt64, WORKFLOW_TASK_FINISH_EVENTS } from './proto';
import { RUNNING_PURCHASE_RUNS, withPurchaseStatus } from './query';
import type { ActionResult, BatchResetResult, ResetTarget, WorkflowOpsDeps } from './types';
import { purchaseStatusOf, type Visibility } from './visibility';

const TERMINAL: readonly string[] = [PurchaseStatus.Settled, PurchaseStatus.Failed, PurchaseStatus.Refunded, PurchaseStatus.Disputed];
/** Past the pivot nothing on chain is undone: cancelling or resetting there cannot help and could mislead. */
const PAST_PIVOT: readonly string[] = [PurchaseStatus.Settling, PurchaseStatus.Settled];

const conflict = (message: string) => new DomainError(ErrorType.Conflict, message);
const notFound = (message: string) => new DomainError(ErrorType.NotFound, message);

/** A stable UUID-shaped request id, so a repeated reset of the same run and event is de-duplicated by the server. */
function requestId(...parts: (string | number)[]): string {
  const h = createHash('sha256').update(parts.join('|')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function createActions({ client, db, config }: WorkflowOpsDeps, visibility: Visibility) {
  const namespace = config.TEMPORAL_NAMESPACE;
  const { describeRun, currentPurchaseStatus, collect } = visibility;

  /** Finds the WorkflowTaskCompleted event to reset to. */
  async function resetEventId(workflowId: string, runId: string, to: ResetTarget): Promise<number> {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    const completed = events.filter(isWorkflowTaskCompleted).map((e) => int64ToNumber(e.eventId));
    if (typeof to === 'number') {
      const ev = events.find((e) => int64ToNumber(e.eventId) === to);
      if (!ev) throw new DomainError(ErrorType.ValidationFailed, `event ${to} does not exist in run ${runId}`);
      if (ev.eventType === null || ev.eventType === undefined || !WORKFLOW_TASK_FINISH_EVENTS.includes(ev.eventType)) {
        throw new DomainError(
          ErrorType.ValidationFailed,
          `event ${to} is not a workflow task completion; pick a WorkflowTaskCompleted event id`,
        );
      }
      return to;
    }
    const id = to === 'first' ? completed[0] : completed[completed.length - 1];
    if (id === undefined) throw conflict(`run ${runId} has no completed workflow task to reset to`);
    return id;
  }

  /**
   * Reset a run to its last or first completed workflow task, or to an event id; signals are reapplied.
   * Pass the runId you looked at: if that run was already replaced, the reset is not repeated.
   */
  async function reset(
    workflowId: string,
    opts: { to: ResetTarget; reason: string; runId?: string; actor: string },
  ): Promise<ActionResult> {
    const info = await describeRun(workflowId);
    if (opts.runId && info.runId !== opts.runId) {
      return {
        workflowId,
        action: 'reset',
        alreadyApplied: true,
        runId: opts.runId,
        newRunId: info.runId,
        detail: `run ${opts.runId} is no longer current; current run is ${info.runId}`,
      };
    }
    const status = info.status.name;
    if (status === 'COMPLETED' || status === 'CONTINUED_AS_NEW') {
      throw conflict(`run ${info.runId} is ${status.toLowerCase()}; its outcome is final and a reset would replay a finished purchase`);
    }
    const purchaseStatus = await currentPurchaseStatus(workflowId);
    if (purchaseStatus === PurchaseStatus.Settled) throw conflict(`purchase is settled; resetting its run cannot help`);
    const eventId = await resetEventId(workflowId, info.runId, opts.to);
    const res = await client.workflowService.resetWorkflowExecution({
      namespace,
      workflowExecution: { workflowId, runId: info.runId },
      reason: `${opts.reason} (by ${opts.actor})`,
      workflowTaskFinishEventId: toInt64(eventId),
      requestId: requestId('reset', workflowId, info.runId, eventId),
      resetReapplyType: temporal.api.enums.v1.ResetReapplyType.RESET_REAPPLY_TYPE_SIGNAL,
    });
    return {
      workflowId,
      action: 'reset',
      alreadyApplied: false,
      runId: info.runId,
      newRunId: res.runId ?? undefined,
      detail: `reset to event ${eventId}`,
    };
  }

  async function cancel(workflowId: string): Promise<ActionResult> {
    const info = await describeRun(workflowId);
    if (info.status.name === 'CANCELLED') return { workflowId, action: 'cancel', alreadyApplied: true, runId: info.runId };
    if (info.status.name !== 'RUNNING')
      throw conflict(`run ${info.runId} is ${info.status.name.toLowerCase()}; only a running workflow can be cancelled`);
    // Cancellation already requested for this run, and its compensations are still running.
    if (await hasSucceeded(db, 'workflow.cancel', workflowId, { runId: info.runId })) {
      return {
        workflowId,
        action: 'cancel',
        alreadyApplied: true,
        runId: info.runId,
        detail: 'cancellation was already requested; compensations are running',
      };
    }
    const purchaseStatus = await currentPurchaseStatus(workflowId);
    if (purchaseStatus && PAST_PIVOT.includes(purchaseStatus)) {
      throw conflict(
        `purchase is ${purchaseStatus}: past the on-chain pivot nothing is compensated, so cancel would not undo the settlement`,
      );
    }
    await client.workflow.getHandle(workflowId, info.runId).cancel();
    return {
      workflowId,
      action: 'cancel',
      alreadyApplied: false,
      runId: info.runId,
      detail: 'cancellation requested; compensations run in the workflow',
    };
  }

  async function terminate(workflowId: string, reason: string): Promise<ActionResult> {
    const info = await describeRun(workflowId);
    if (info.status.name === 'TERMINATED') return { workflowId, action: 'terminate', alreadyApplied: true, runId: info.runId };
    if (info.status.name !== 'RUNNING')
      throw conflict(`run ${info.runId} is ${info.status.name.toLowerCase()}; only a running workflow can be terminated`);
    await client.workflow.getHandle(workflowId, info.runId).terminate(reason);
    return {
      workflowId,
      action: 'terminate',
      alreadyApplied: false,
      runId: info.runId,
      detail: 'terminated: no compensation ran; the hold and purchase need manual review',
    };
  }

  async function statusOfPurchase(purchaseId: string): Promise<string> {
    const status = await findPurchaseStatus(db, purchaseId);
    if (status === undefined) throw notFound(`purchase ${purchaseId} not found`);
    return status;
  }

  async function decide(purchaseId: string, approved: boolean, actor: string, reason?: string): Promise<ActionResult> {
    const action = approved ? 'approve' : 'reject';
    const workflowId = purchaseWorkflowId(purchaseId);
    const status = await statusOfPurchase(purchaseId);
    if (status !== PurchaseStatus.AwaitingApproval) {
      // A repeat of the same decision is a no-op; the opposite decision, or none at all, is a conflict.
      if (await hasSucceeded(db, `purchase.${action}`, purchaseId))
        return { workflowId, action, alreadyApplied: true, detail: `purchase is now ${status}` };
      throw conflict(`cannot ${action} a purchase that is ${status}; only ${PurchaseStatus.AwaitingApproval} purchases take a decision`);
    }
    await client.workflow.getHandle(workflowId).signal(approved ? approveSignal : rejectSignal, { actor, reason });
    return { workflowId, action, alreadyApplied: false };
  }

  return {
    reset: (workflowId: string, opts: { to?: ResetTarget; reason?: string; runId?: string; actor: string }) =>
      audited(db, { actor: opts.actor, action: 'workflow.reset', target: workflowId, reason: opts.reason }, () =>
        reset(workflowId, { to: opts.to ?? 'last', reason: opts.reason ?? 'reset by operator', runId: opts.runId, actor: opts.actor }),
      ),

    cancel: (workflowId: string, opts: { actor: string; reason?: string }) =>
      audited(db, { actor: opts.actor, action: 'workflow.cancel', target: workflowId, reason: opts.reason }, () => cancel(workflowId)),

    terminate: (workflowId: string, opts: { actor: string; reason?: string }) =>
      audited(db, { actor: opts.actor, action: 'workflow.terminate', target: workflowId, reason: opts.reason, flagged: true }, async () => {
        const reason = opts.reason?.trim();
        if (!reason) throw new DomainError(ErrorType.ValidationFailed, 'terminate requires a reason');
        return terminate(workflowId, `${reason} (by ${opts.actor})`);
      }),

    approve: (purchaseId: string, opts: { actor: string; reason?: string }) =>
      audited(db, { actor: opts.actor, action: 'purchase.approve', target: purchaseId, reason: opts.reason }, () =>
        decide(purchaseId, true, opts.actor, opts.reason),
      ),

    reject: (purchaseId: string, opts: { actor: string; reason?: string }) =>
      audited(db, { actor: opts.actor, action: 'purchase.reject', target: purchaseId, reason: opts.reason }, () =>
        decide(purchaseId, false, opts.actor, opts.reason),
      ),

    /** A signal that makes the run re-check now; harmless to repeat. */
    retry: (purchaseId: string, opts: { actor: string; reason?: string }) =>
      audited(db, { actor: opts.actor, action: 'purchase.retry', target: purchaseId, reason: opts.reason }, async () => {
        const status = await statusOfPurchase(purchaseId);
        if (TERMINAL.includes(status) || status === PurchaseStatus.PendingPayment)
          throw conflict(`cannot retry a purchase that is ${status}`);
        await client.workflow.getHandle(purchaseWorkflowId(purchaseId)).signal(retryNowSignal);
        return { workflowId: purchaseWorkflowId(purchaseId), action: 'retry', alreadyApplied: false } satisfies ActionResult;
      }),

    /**
     * Signals every running purchase run waiting for the treasury. The database is the source of
     * truth (its status is written before the run's search attribute reaches visibility, which is
     * eventually consistent); visibility adds runs of the older shape whose row lags behind.
     */
    treasuryReplenished: (opts: { actor: string; reason?: string }) =>
      audited(
        db,
        { actor: opts.actor, action: 'treasury.signal_waiting', target: PurchaseStatus.AwaitingTreasury, reason: opts.reason },
        async () => {
          const [waiting, infos] = await Promise.all([
            findPurchaseIdsWithStatus(db, PurchaseStatus.AwaitingTreasury, 1000),
            collect(`${RUNNING_PURCHASE_RUNS} AND ${withPurchaseStatus([PurchaseStatus.AwaitingTreasury])}`, 1000),
          ]);
          const workflowIds = [...new Set([...waiting.map(purchaseWorkflowId), ...infos.map((i) => i.workflowId)])];
          const signalled = await Promise.all(
            workflowIds.map(async (workflowId) => {
              try {
                await client.workflow.getHandle(workflowId).signal(treasuryReplenishedSignal);
                return workflowId;
              } catch (err) {
                // Settled or failed since the listing: nothing to wake.
                if (err instanceof WorkflowNotFoundError) return undefined;
                throw err;
              }
            }),
          );
          return { signalled: signalled.filter((id) => id !== undefined).sort() };
        },
      ),

    /**
     * Reset every purchase run matching a visibility query. The dry run lists the targets and changes
     * nothing; the real run resets each one (audited one by one) and reports progress.
     */
    async batchReset(opts: {
      query: string;
      dryRun: boolean;
      to?: ResetTarget;
      reason?: string;
      actor: string;
      limit?: number;
      onProgress?: (done: number, total: number, workflowId: string) => void;
    }): Promise<BatchResetResult> {
      const query = `${RUNNING_PURCHASE_RUNS} AND (${opts.query})`;
      return audited(
        db,
        {
          actor: opts.actor,
          action: opts.dryRun ? 'workflow.batch_reset.dry_run' : 'workflow.batch_reset',
          target: opts.query.slice(0, 500),
          reason: opts.reason,
        },
        async () => {
          let infos;
          try {
            infos = await collect(query, opts.limit ?? 500);
          } catch (err) {
            throw new DomainError(
              ErrorType.ValidationFailed,
              `invalid visibility query: ${err instanceof Error ? err.message : String(err)}`,
            );
          }
          const targets = infos.map((i) => ({ workflowId: i.workflowId, runId: i.runId, purchaseStatus: purchaseStatusOf(i) }));
          const results: BatchResetResult['results'] = [];
          if (!opts.dryRun) {
            let done = 0;
            for (const t of targets) {
              try {
                const r = await audited(
                  db,
                  { actor: opts.actor, action: 'workflow.reset', target: t.workflowId, reason: opts.reason ?? 'batch reset' },
                  () =>
                    reset(t.workflowId, { to: opts.to ?? 'last', reason: opts.reason ?? 'batch reset', runId: t.runId, actor: opts.actor }),
                );
                results.push({ workflowId: t.workflowId, ok: true, newRunId: r.newRunId, alreadyApplied: r.alreadyApplied });
              } catch (err) {
                results.push({ workflowId: t.workflowId, ok: false, error: err instanceof Error ? err.message : String(err) });
              }
              opts.onProgress?.(++done, targets.length, t.workflowId);
            }
          }
          return { query, dryRun: opts.dryRun, targets, results };
        },
      );
    },

    /** Trigger a Temporal Schedule now (treasury-reconciliation, subscription-trial-check). */
    triggerSchedule: (id: string, opts: { actor: string; reason?: string }) =>
      audited(db, { actor: opts.actor, action: 'schedule.trigger', target: id, reason: opts.reason }, () => triggerSchedule(client, id)),
  };
}
