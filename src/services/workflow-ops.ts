/**
 * Operations on purchase runs for the admin API, the dashboard and the ops CLI (issue 7):
 * visibility listings (stuck / awaiting / failed) enriched with describe(), and the actions
 * reset, cancel, terminate, retry, approve, reject, treasury-replenished and batch reset.
 *
 * Every action is idempotent and audited: a repeat of an action that already took effect answers
 * `alreadyApplied: true`, and an action that makes no sense for the run's current state throws a
 * `conflict` DomainError (409) that explains why; the audit row records the refusal too.
 */
import { createHash } from 'node:crypto';
import { WorkflowNotFoundError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { audited } from './audit';
import { triggerSchedule } from './schedules';
import { DomainError, ErrorType } from '../shared/errors';
import { purchaseIdFromWorkflowId, purchaseWorkflowId } from '../shared/ids';
import { PurchaseStatus } from '../shared/status';
import { approveSignal, rejectSignal, retryNowSignal, treasuryReplenishedSignal } from '../workflows/definitions';

export const WORKFLOW_STATES = ['stuck', 'awaiting', 'failed'] as const;
export type WorkflowState = (typeof WORKFLOW_STATES)[number];

export type ResetTarget = 'last' | 'first' | number;

export interface PendingActivityView {
  activityType: string;
  state: string;
  attempt: number;
  maximumAttempts: number;
  lastFailure: string | null;
  lastStartedAt: string | null;
  nextAttemptAt: string | null;
}

export interface WorkflowRow {
  workflowId: string;
  runId: string;
  workflowType: string;
  executionStatus: string;
  purchaseStatus: string | null;
  startTime: string;
  closeTime: string | null;
  lastProgressAt: string | null;
  historyLength: number;
  pendingActivities: PendingActivityView[];
  pendingWorkflowTaskAttempt: number | null;
  lastFailure: string | null;
  /** TemporalReportedProblems, where the server sets it */
  problems: string[] | null;
  stuckReasons: string[];
  purchase: PurchaseContext | null;
  temporalUiUrl: string;
}

export interface PurchaseContext {
  purchaseId: string;
  productId: string;
  productTitle: string | null;
  status: string;
  rail: string;
  buyerWallet: string;
  grossCents: string | null;
  failureType: string | null;
  failureMessage: string | null;
  settlementTxId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ActionResult {
  workflowId: string;
  action: string;
  alreadyApplied: boolean;
  runId?: string;
  newRunId?: string;
  detail?: string;
}

export interface BatchResetResult {
  query: string;
  dryRun: boolean;
  targets: { workflowId: string; runId: string; purchaseStatus: string | null }[];
  results: ({ workflowId: string } & ({ ok: true; newRunId?: string; alreadyApplied: boolean } | { ok: false; error: string }))[];
}

export interface WorkflowOpsDeps {
  client: Client;
  db: Db;
  config: Pick<Config, 'TEMPORAL_NAMESPACE' | 'STUCK_AFTER_MINUTES' | 'STUCK_ATTEMPTS' | 'temporalUiUrl'>;
  now?: () => Date;
}

const PURCHASE_TYPE = `WorkflowType = 'purchaseWorkflow'`;
const AWAITING: readonly string[] = [PurchaseStatus.AwaitingApproval, PurchaseStatus.AwaitingTreasury];
const TERMINAL: readonly string[] = [PurchaseStatus.Settled, PurchaseStatus.Failed, PurchaseStatus.Refunded, PurchaseStatus.Disputed];
/** Past the pivot nothing on chain is undone: cancelling or resetting there cannot help and could mislead. */
const PAST_PIVOT: readonly string[] = [PurchaseStatus.Settling, PurchaseStatus.Settled];

const QUERIES: Record<WorkflowState, string> = {
  awaiting: `${PURCHASE_TYPE} AND ExecutionStatus = 'Running' AND PurchaseStatus IN ('awaiting_approval', 'awaiting_treasury')`,
  failed: `${PURCHASE_TYPE} AND (ExecutionStatus IN ('Failed', 'Terminated', 'TimedOut', 'Canceled') OR PurchaseStatus = 'failed')`,
  // Candidates only; stuck is decided per run from describe() (attempts, last progress, reported problems).
  stuck: `${PURCHASE_TYPE} AND ExecutionStatus = 'Running'`,
};

const conflict = (message: string) => new DomainError(ErrorType.Conflict, message);
const notFound = (message: string) => new DomainError(ErrorType.NotFound, message);

type Ts = { seconds?: { toNumber(): number } | number | null; nanos?: number | null } | null | undefined;
function tsToDate(ts: Ts): Date | null {
  if (!ts || ts.seconds === null || ts.seconds === undefined) return null;
  const s = typeof ts.seconds === 'number' ? ts.seconds : ts.seconds.toNumber();
  return new Date(s * 1000 + Math.floor((ts.nanos ?? 0) / 1e6));
}
const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
const longToNumber = (v: unknown): number => (typeof v === 'number' ? v : v && typeof (v as { toNumber?: unknown }).toNumber === 'function' ? (v as { toNumber(): number }).toNumber() : Number(v ?? 0));

function failureText(f: temporal.api.failure.v1.IFailure | null | undefined): string | null {
  if (!f) return null;
  const parts: string[] = [];
  for (let cur: temporal.api.failure.v1.IFailure | null | undefined = f, depth = 0; cur && depth < 4; cur = cur.cause, depth++) {
    const type = cur.applicationFailureInfo?.type;
    parts.push(type ? `${type}: ${cur.message ?? ''}` : (cur.message ?? ''));
  }
  return parts.filter(Boolean).join(' <- ').slice(0, 1000) || null;
}

function enumName(e: Record<string, unknown>, value: unknown, prefix: string): string {
  const name = typeof value === 'number' ? (e[value] as string | undefined) : undefined;
  return name ? name.replace(prefix, '') : String(value);
}

export function createWorkflowOps({ client, db, config, now = () => new Date() }: WorkflowOpsDeps) {
  const namespace = config.TEMPORAL_NAMESPACE;
  const uiUrl = (workflowId: string, runId: string) =>
    `${config.temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;

  async function purchaseContexts(purchaseIds: string[]): Promise<Map<string, PurchaseContext>> {
    if (purchaseIds.length === 0) return new Map();
    const rows = await db.purchase.findMany({ where: { id: { in: purchaseIds } }, include: { product: { select: { title: true } } } });
    return new Map(
      rows.map((p) => [
        p.id,
        {
          purchaseId: p.id,
          productId: p.productId,
          productTitle: p.product.title,
          status: p.status,
          rail: p.rail,
          buyerWallet: p.buyerWallet,
          grossCents: p.grossCents?.toString() ?? null,
          failureType: p.failureType,
          failureMessage: p.failureMessage,
          settlementTxId: p.settlementTxId,
          createdAt: p.createdAt.toISOString(),
          updatedAt: p.updatedAt.toISOString(),
        },
      ]),
    );
  }

  async function lastEventTime(workflowId: string, runId: string): Promise<Date | null> {
    const res = await client.workflowService.getWorkflowExecutionHistoryReverse({ namespace, execution: { workflowId, runId }, maximumPageSize: 1 });
    return tsToDate(res.history?.events?.[0]?.eventTime as Ts);
  }

  /** describe() plus the last event's time; decides whether the run is stuck. */
  async function inspect(info: WorkflowExecutionInfo): Promise<Omit<WorkflowRow, 'purchase'>> {
    const running = info.status.name === 'RUNNING';
    const raw = running ? (await client.workflow.getHandle(info.workflowId, info.runId).describe()).raw : undefined;
    const pending: PendingActivityView[] = (raw?.pendingActivities ?? []).map((a) => ({
      activityType: a.activityType?.name ?? '?',
      state: enumName(temporal.api.enums.v1.PendingActivityState as unknown as Record<string, unknown>, a.state, 'PENDING_ACTIVITY_STATE_'),
      attempt: a.attempt ?? 0,
      maximumAttempts: a.maximumAttempts ?? 0,
      lastFailure: failureText(a.lastFailure),
      lastStartedAt: iso(tsToDate(a.lastStartedTime as Ts)),
      nextAttemptAt: iso(tsToDate(a.nextAttemptScheduleTime as Ts)),
    }));
    const wft = raw?.pendingWorkflowTask;
    const lastProgress = running ? await lastEventTime(info.workflowId, info.runId) : (info.closeTime ?? null);
    const problemsRaw = (info.searchAttributes as Record<string, unknown> | undefined)?.TemporalReportedProblems;
    const problems = Array.isArray(problemsRaw) && problemsRaw.length > 0 ? problemsRaw.map(String) : null;
    const purchaseStatusRaw = (info.searchAttributes as Record<string, unknown> | undefined)?.PurchaseStatus;
    const purchaseStatus = Array.isArray(purchaseStatusRaw) ? String(purchaseStatusRaw[0]) : null;

    const stuckReasons: string[] = [];
    if (running) {
      for (const a of pending) {
        if (a.attempt >= config.STUCK_ATTEMPTS) stuckReasons.push(`activity ${a.activityType} is on attempt ${a.attempt} (threshold ${config.STUCK_ATTEMPTS})`);
      }
      if (wft && (wft.attempt ?? 0) >= config.STUCK_ATTEMPTS) stuckReasons.push(`workflow task is on attempt ${wft.attempt} (threshold ${config.STUCK_ATTEMPTS})`);
      if (problems) stuckReasons.push(`Temporal reports: ${problems.join(', ')}`);
      const waiting = purchaseStatus !== null && AWAITING.includes(purchaseStatus);
      if (!waiting && lastProgress && now().getTime() - lastProgress.getTime() >= config.STUCK_AFTER_MINUTES * 60_000) {
        stuckReasons.push(`no progress since ${lastProgress.toISOString()} (threshold ${config.STUCK_AFTER_MINUTES} minutes)`);
      }
    }
    return {
      workflowId: info.workflowId,
      runId: info.runId,
      workflowType: info.type,
      executionStatus: info.status.name,
      purchaseStatus,
      startTime: info.startTime.toISOString(),
      closeTime: iso(info.closeTime),
      lastProgressAt: iso(lastProgress),
      historyLength: info.historyLength,
      pendingActivities: pending,
      pendingWorkflowTaskAttempt: wft ? (wft.attempt ?? null) : null,
      lastFailure: pending.find((a) => a.lastFailure)?.lastFailure ?? null,
      problems,
      stuckReasons,
      temporalUiUrl: uiUrl(info.workflowId, info.runId),
    };
  }

  async function collect(query: string, limit: number): Promise<WorkflowExecutionInfo[]> {
    const out: WorkflowExecutionInfo[] = [];
    for await (const info of client.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
      out.push(info);
      if (out.length >= limit) break;
    }
    return out;
  }

  async function rows(infos: WorkflowExecutionInfo[]): Promise<WorkflowRow[]> {
    const inspected = await Promise.all(infos.map((i) => inspect(i)));
    const contexts = await purchaseContexts(infos.map((i) => purchaseIdFromWorkflowId(i.workflowId)).filter((x): x is string => x !== undefined));
    return inspected.map((r) => {
      const purchase = contexts.get(purchaseIdFromWorkflowId(r.workflowId) ?? '') ?? null;
      const purchaseFailure = purchase?.failureType ? `${purchase.failureType}: ${purchase.failureMessage ?? ''}` : null;
      return { ...r, lastFailure: r.lastFailure ?? purchaseFailure, purchase };
    });
  }

  async function list(state: WorkflowState, opts: { limit?: number } = {}): Promise<WorkflowRow[]> {
    const limit = opts.limit ?? 200;
    const infos = await collect(QUERIES[state], state === 'stuck' ? Math.max(limit, 500) : limit);
    const all = await rows(infos);
    return (state === 'stuck' ? all.filter((r) => r.stuckReasons.length > 0) : all).slice(0, limit);
  }

  async function describeInfo(workflowId: string): Promise<WorkflowExecutionInfo> {
    try {
      // A description carries every field of a listing's info (its raw differs); inspect() only reads the shared ones.
      return (await client.workflow.getHandle(workflowId).describe()) as unknown as WorkflowExecutionInfo;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw notFound(`workflow ${workflowId} not found`);
      throw err;
    }
  }

  async function show(workflowId: string): Promise<WorkflowRow> {
    const [row] = await rows([await describeInfo(workflowId)]);
    return row as WorkflowRow;
  }

  async function currentPurchaseStatus(workflowId: string): Promise<string | null> {
    const purchaseId = purchaseIdFromWorkflowId(workflowId);
    if (!purchaseId) return null;
    const p = await db.purchase.findUnique({ where: { id: purchaseId }, select: { status: true } });
    return p?.status ?? null;
  }

  /** Finds the WorkflowTaskCompleted event to reset to. */
  async function resetEventId(workflowId: string, runId: string, to: ResetTarget): Promise<number> {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    const completed = events.filter((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).map((e) => longToNumber(e.eventId));
    if (typeof to === 'number') {
      const ev = events.find((e) => longToNumber(e.eventId) === to);
      if (!ev) throw new DomainError(ErrorType.ValidationFailed, `event ${to} does not exist in run ${runId}`);
      const finishTypes = [
        temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
        temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
      ];
      if (!finishTypes.includes(ev.eventType as temporal.api.enums.v1.EventType)) {
        throw new DomainError(ErrorType.ValidationFailed, `event ${to} is not a workflow task completion; pick a WorkflowTaskCompleted event id`);
      }
      return to;
    }
    const id = to === 'first' ? completed[0] : completed[completed.length - 1];
    if (id === undefined) throw conflict(`run ${runId} has no completed workflow task to reset to`);
    return id;
  }

  function requestId(...parts: (string | number)[]): string {
    const h = createHash('sha256').update(parts.join('|')).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }

  /**
   * Reset a run to its last or first completed workflow task, or to an event id; signals are reapplied.
   * Pass the runId you looked at: if that run was already replaced, the reset is not repeated.
   */
  async function doReset(workflowId: string, opts: { to: ResetTarget; reason: string; runId?: string; actor: string }): Promise<ActionResult> {
    const info = await describeInfo(workflowId);
    if (opts.runId && info.runId !== opts.runId) {
      return { workflowId, action: 'reset', alreadyApplied: true, runId: opts.runId, newRunId: info.runId, detail: `run ${opts.runId} is no longer current; current run is ${info.runId}` };
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
      workflowTaskFinishEventId: eventId as never,
      requestId: requestId('reset', workflowId, info.runId, eventId),
      resetReapplyType: temporal.api.enums.v1.ResetReapplyType.RESET_REAPPLY_TYPE_SIGNAL,
    });
    return { workflowId, action: 'reset', alreadyApplied: false, runId: info.runId, newRunId: res.runId ?? undefined, detail: `reset to event ${eventId}` };
  }

  async function doCancel(workflowId: string): Promise<ActionResult> {
    const info = await describeInfo(workflowId);
    if (info.status.name === 'CANCELLED') return { workflowId, action: 'cancel', alreadyApplied: true, runId: info.runId };
    if (info.status.name !== 'RUNNING') throw conflict(`run ${info.runId} is ${info.status.name.toLowerCase()}; only a running workflow can be cancelled`);
    // Cancellation already requested for this run, and its compensations are still running.
    if (await db.auditLog.count({ where: { action: 'workflow.cancel', target: workflowId, result: 'ok', details: { path: ['runId'], equals: info.runId } } })) {
      return { workflowId, action: 'cancel', alreadyApplied: true, runId: info.runId, detail: 'cancellation was already requested; compensations are running' };
    }
    const purchaseStatus = await currentPurchaseStatus(workflowId);
    if (purchaseStatus && PAST_PIVOT.includes(purchaseStatus)) {
      throw conflict(`purchase is ${purchaseStatus}: past the on-chain pivot nothing is compensated, so cancel would not undo the settlement`);
    }
    await client.workflow.getHandle(workflowId, info.runId).cancel();
    return { workflowId, action: 'cancel', alreadyApplied: false, runId: info.runId, detail: 'cancellation requested; compensations run in the workflow' };
  }

  async function doTerminate(workflowId: string, reason: string): Promise<ActionResult> {
    const info = await describeInfo(workflowId);
    if (info.status.name === 'TERMINATED') return { workflowId, action: 'terminate', alreadyApplied: true, runId: info.runId };
    if (info.status.name !== 'RUNNING') throw conflict(`run ${info.runId} is ${info.status.name.toLowerCase()}; only a running workflow can be terminated`);
    await client.workflow.getHandle(workflowId, info.runId).terminate(reason);
    return { workflowId, action: 'terminate', alreadyApplied: false, runId: info.runId, detail: 'terminated: no compensation ran; the hold and purchase need manual review' };
  }

  async function purchaseFor(purchaseId: string) {
    const p = await db.purchase.findUnique({ where: { id: purchaseId }, select: { status: true } });
    if (!p) throw notFound(`purchase ${purchaseId} not found`);
    return p;
  }

  async function priorSuccess(action: string, target: string): Promise<boolean> {
    return (await db.auditLog.count({ where: { action, target, result: 'ok' } })) > 0;
  }

  async function decide(purchaseId: string, approved: boolean, actor: string, reason?: string): Promise<ActionResult> {
    const action = approved ? 'approve' : 'reject';
    const workflowId = purchaseWorkflowId(purchaseId);
    const p = await purchaseFor(purchaseId);
    if (p.status !== PurchaseStatus.AwaitingApproval) {
      // A repeat of the same decision is a no-op; the opposite decision, or none at all, is a conflict.
      if (await priorSuccess(`purchase.${action}`, purchaseId)) return { workflowId, action, alreadyApplied: true, detail: `purchase is now ${p.status}` };
      throw conflict(`cannot ${action} a purchase that is ${p.status}; only awaiting_approval purchases take a decision`);
    }
    await client.workflow.getHandle(workflowId).signal(approved ? approveSignal : rejectSignal, { actor, reason });
    return { workflowId, action, alreadyApplied: false };
  }

  return {
    list,
    show,
    queries: QUERIES,
    uiUrl,

    reset: (workflowId: string, opts: { to?: ResetTarget; reason?: string; runId?: string; actor: string }) =>
      audited(db, { actor: opts.actor, action: 'workflow.reset', target: workflowId, reason: opts.reason }, () =>
        doReset(workflowId, { to: opts.to ?? 'last', reason: opts.reason ?? 'reset by operator', runId: opts.runId, actor: opts.actor }),
      ),

    cancel: (workflowId: string, opts: { actor: string; reason?: string }) =>
      audited(db, { actor: opts.actor, action: 'workflow.cancel', target: workflowId, reason: opts.reason }, () => doCancel(workflowId)),

    terminate: (workflowId: string, opts: { actor: string; reason?: string }) =>
      audited(db, { actor: opts.actor, action: 'workflow.terminate', target: workflowId, reason: opts.reason, flagged: true }, async () => {
        const reason = opts.reason?.trim();
        if (!reason) throw new DomainError(ErrorType.ValidationFailed, 'terminate requires a reason');
        return doTerminate(workflowId, `${reason} (by ${opts.actor})`);
      }),

    approve: (purchaseId: string, opts: { actor: string; reason?: string }) =>
      audited(db, { actor: opts.actor, action: 'purchase.approve', target: purchaseId, reason: opts.reason }, () => decide(purchaseId, true, opts.actor, opts.reason)),

    reject: (purchaseId: string, opts: { actor: string; reason?: string }) =>
      audited(db, { actor: opts.actor, action: 'purchase.reject', target: purchaseId, reason: opts.reason }, () => decide(purchaseId, false, opts.actor, opts.reason)),

    /** A signal that makes the run re-check now; harmless to repeat. */
    retry: (purchaseId: string, opts: { actor: string; reason?: string }) =>
      audited(db, { actor: opts.actor, action: 'purchase.retry', target: purchaseId, reason: opts.reason }, async () => {
        const p = await purchaseFor(purchaseId);
        if (TERMINAL.includes(p.status) || p.status === PurchaseStatus.PendingPayment) throw conflict(`cannot retry a purchase that is ${p.status}`);
        await client.workflow.getHandle(purchaseWorkflowId(purchaseId)).signal(retryNowSignal);
        return { workflowId: purchaseWorkflowId(purchaseId), action: 'retry', alreadyApplied: false } satisfies ActionResult;
      }),

    /** Signals every running workflow whose PurchaseStatus is awaiting_treasury (found through visibility). */
    treasuryReplenished: (opts: { actor: string; reason?: string }) =>
      audited(db, { actor: opts.actor, action: 'treasury.signal_waiting', target: 'awaiting_treasury', reason: opts.reason }, async () => {
        const infos = await collect(`${PURCHASE_TYPE} AND ExecutionStatus = 'Running' AND PurchaseStatus = 'awaiting_treasury'`, 1000);
        await Promise.all(infos.map((i) => client.workflow.getHandle(i.workflowId).signal(treasuryReplenishedSignal)));
        return { signalled: infos.map((i) => i.workflowId) };
      }),

    /**
     * Reset every purchase run matching a visibility query. The dry run lists the targets and changes
     * nothing; the real run resets each one (audited one by one) and reports progress.
     */
    async batchReset(opts: { query: string; dryRun: boolean; to?: ResetTarget; reason?: string; actor: string; limit?: number; onProgress?: (done: number, total: number, workflowId: string) => void }): Promise<BatchResetResult> {
      const query = `${PURCHASE_TYPE} AND ExecutionStatus = 'Running' AND (${opts.query})`;
      return audited(db, { actor: opts.actor, action: opts.dryRun ? 'workflow.batch_reset.dry_run' : 'workflow.batch_reset', target: opts.query.slice(0, 500), reason: opts.reason }, async () => {
        let infos: WorkflowExecutionInfo[];
        try {
          infos = await collect(query, opts.limit ?? 500);
        } catch (err) {
          throw new DomainError(ErrorType.ValidationFailed, `invalid visibility query: ${err instanceof Error ? err.message : String(err)}`);
        }
        const targets = infos.map((i) => {
          const ps = (i.searchAttributes as Record<string, unknown> | undefined)?.PurchaseStatus;
          return { workflowId: i.workflowId, runId: i.runId, purchaseStatus: Array.isArray(ps) ? String(ps[0]) : null };
        });
        const results: BatchResetResult['results'] = [];
        if (!opts.dryRun) {
          let done = 0;
          for (const t of targets) {
            try {
              const r = await audited(db, { actor: opts.actor, action: 'workflow.reset', target: t.workflowId, reason: opts.reason ?? 'batch reset' }, () =>
                doReset(t.workflowId, { to: opts.to ?? 'last', reason: opts.reason ?? 'batch reset', runId: t.runId, actor: opts.actor }),
              );
              results.push({ workflowId: t.workflowId, ok: true, newRunId: r.newRunId, alreadyApplied: r.alreadyApplied });
            } catch (err) {
              results.push({ workflowId: t.workflowId, ok: false, error: err instanceof Error ? err.message : String(err) });
            }
            opts.onProgress?.(++done, targets.length, t.workflowId);
          }
        }
        return { query, dryRun: opts.dryRun, targets, results };
      });
    },

    /** Trigger a Temporal Schedule now (treasury-reconciliation, subscription-trial-check). */
    triggerSchedule: (id: string, opts: { actor: string; reason?: string }) =>
      audited(db, { actor: opts.actor, action: 'schedule.trigger', target: id, reason: opts.reason }, () => triggerSchedule(client, id)),

  };
}

export type WorkflowOps = ReturnType<typeof createWorkflowOps>;

export interface AuditFilter {
  actor?: string;
  action?: string;
  target?: string;
  result?: string;
  flagged?: boolean;
  since?: Date;
  until?: Date;
  limit?: number;
  /** rows with an id below this (for paging backwards) */
  before?: bigint;
}

export async function listAudit(db: Db, f: AuditFilter) {
  const rows = await db.auditLog.findMany({
    where: {
      ...(f.actor ? { actor: f.actor } : {}),
      ...(f.action ? { action: f.action.endsWith('*') ? { startsWith: f.action.slice(0, -1) } : f.action } : {}),
      ...(f.target ? { target: f.target } : {}),
      ...(f.result ? { result: f.result.endsWith('*') ? { startsWith: f.result.slice(0, -1) } : f.result } : {}),
      ...(f.flagged !== undefined ? { flagged: f.flagged } : {}),
      ...(f.since || f.until ? { createdAt: { ...(f.since ? { gte: f.since } : {}), ...(f.until ? { lt: f.until } : {}) } } : {}),
      ...(f.before !== undefined ? { id: { lt: f.before } } : {}),
    },
    orderBy: { id: 'desc' },
    take: Math.min(f.limit ?? 100, 1000),
  });
  return rows.map((r) => ({
    id: r.id.toString(),
    actor: r.actor,
    action: r.action,
    target: r.target,
    reason: r.reason,
    result: r.result,
    flagged: r.flagged,
    details: r.details,
    createdAt: r.createdAt.toISOString(),
  }));
}
