/**
 * Which purchase runs are stuck, awaiting or failed: visibility listings, each run enriched with
 * describe() and its last event, and the purchase row behind it.
 */
import { WorkflowNotFoundError, type WorkflowExecutionInfo } from '@temporalio/client';
import { findApprovalReasons, findPurchasesWithProductTitle, findPurchaseStatus } from '../../db/purchases';
import { DomainError, ErrorType } from '../../shared/errors';
import { purchaseIdFromWorkflowId } from '../../shared/ids';
import { SA, SYSTEM_SA } from '../../shared/search-attributes';
import { PurchaseStatus } from '../../shared/status';
import { failureText, iso, pendingActivityStateName, timestampToDate } from './proto';
import {
  AWAITING_STATUSES,
  ENDED_UNSUCCESSFULLY,
  PURCHASE_RUNS,
  RUNNING_PURCHASE_RUNS,
  withExecutionStatus,
  withPurchaseStatus,
} from './query';
import type { PendingActivityView, PurchaseContext, WorkflowOpsDeps, WorkflowRow, WorkflowState } from './types';

/** What a listing and a description have in common (their `raw` messages differ). */
export type RunInfo = Omit<WorkflowExecutionInfo, 'raw'>;

const QUERIES: Record<WorkflowState, string> = {
  awaiting: `${RUNNING_PURCHASE_RUNS} AND ${withPurchaseStatus(AWAITING_STATUSES)}`,
  failed: `${PURCHASE_RUNS} AND (${withExecutionStatus(ENDED_UNSUCCESSFULLY)} OR ${withPurchaseStatus([PurchaseStatus.Failed])})`,
  // Candidates only; stuck is decided per run from describe() (attempts, last progress, reported problems).
  stuck: RUNNING_PURCHASE_RUNS,
};

export const purchaseStatusOf = (info: RunInfo): string | null => info.typedSearchAttributes.get(SA.PurchaseStatus) ?? null;

export function createVisibility({ client, db, config, now = () => new Date() }: WorkflowOpsDeps) {
  const namespace = config.TEMPORAL_NAMESPACE;
  const uiUrl = (workflowId: string, runId: string) =>
    `${config.temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;

  async function purchaseContexts(purchaseIds: string[]): Promise<Map<string, PurchaseContext>> {
    const rows = await findPurchasesWithProductTitle(db, purchaseIds);
    const approvalReasons = await findApprovalReasons(db, rows);
    return new Map(
      rows.map((p, i) => [
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
          approvalReason: approvalReasons[i] ?? null,
          createdAt: p.createdAt.toISOString(),
          updatedAt: p.updatedAt.toISOString(),
        },
      ]),
    );
  }

  async function lastEventTime(workflowId: string, runId: string): Promise<Date | null> {
    const res = await client.workflowService.getWorkflowExecutionHistoryReverse({
      namespace,
      execution: { workflowId, runId },
      maximumPageSize: 1,
    });
    return timestampToDate(res.history?.events?.[0]?.eventTime);
  }

  /** describe() plus the last event's time; decides whether the run is stuck. */
  async function inspect(info: RunInfo): Promise<Omit<WorkflowRow, 'purchase'>> {
    const running = info.status.name === 'RUNNING';
    const raw = running ? (await client.workflow.getHandle(info.workflowId, info.runId).describe()).raw : undefined;
    const pending: PendingActivityView[] = (raw?.pendingActivities ?? []).map((a) => ({
      activityType: a.activityType?.name ?? '?',
      state: pendingActivityStateName(a.state),
      attempt: a.attempt ?? 0,
      maximumAttempts: a.maximumAttempts ?? 0,
      lastFailure: failureText(a.lastFailure),
      lastStartedAt: iso(timestampToDate(a.lastStartedTime)),
      nextAttemptAt: iso(timestampToDate(a.nextAttemptScheduleTime)),
    }));
    const wft = raw?.pendingWorkflowTask;
    const lastProgress = running ? await lastEventTime(info.workflowId, info.runId) : (info.closeTime ?? null);
    const reported = info.typedSearchAttributes.get(SYSTEM_SA.TemporalReportedProblems);
    const problems = reported && reported.length > 0 ? [...reported] : null;
    const purchaseStatus = purchaseStatusOf(info);

    const stuckReasons: string[] = [];
    if (running) {
      for (const a of pending) {
        if (a.attempt >= config.STUCK_ATTEMPTS)
          stuckReasons.push(`activity ${a.activityType} is on attempt ${a.attempt} (threshold ${config.STUCK_ATTEMPTS})`);
      }
      if (wft && (wft.attempt ?? 0) >= config.STUCK_ATTEMPTS)
        stuckReasons.push(`workflow task is on attempt ${wft.attempt} (threshold ${config.STUCK_ATTEMPTS})`);
      if (problems) stuckReasons.push(`Temporal reports: ${problems.join(', ')}`);
      const waiting = AWAITING_STATUSES.some((s) => s === purchaseStatus);
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

  async function rows(infos: RunInfo[]): Promise<WorkflowRow[]> {
    const inspected = await Promise.all(infos.map((i) => inspect(i)));
    const contexts = await purchaseContexts(
      infos.map((i) => purchaseIdFromWorkflowId(i.workflowId)).filter((x): x is string => x !== undefined),
    );
    return inspected.map((r) => {
      const purchase = contexts.get(purchaseIdFromWorkflowId(r.workflowId) ?? '') ?? null;
      const purchaseFailure = purchase?.failureType ? `${purchase.failureType}: ${purchase.failureMessage ?? ''}` : null;
      return { ...r, lastFailure: r.lastFailure ?? purchaseFailure, purchase };
    });
  }

  /** The current run of a workflow id; a missing one is a typed not_found. */
  async function describeRun(workflowId: string): Promise<RunInfo> {
    try {
      return await client.workflow.getHandle(workflowId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new DomainError(ErrorType.NotFound, `workflow ${workflowId} not found`);
      throw err;
    }
  }

  /** The purchase status in PostgreSQL (the read model), for a purchase run's workflow id. */
  async function currentPurchaseStatus(workflowId: string): Promise<string | null> {
    const purchaseId = purchaseIdFromWorkflowId(workflowId);
    if (!purchaseId) return null;
    return (await findPurchaseStatus(db, purchaseId)) ?? null;
  }

  return {
    queries: QUERIES,
    uiUrl,
    collect,
    describeRun,
    currentPurchaseStatus,

    async list(state: WorkflowState, opts: { limit?: number } = {}): Promise<WorkflowRow[]> {
      const limit = opts.limit ?? 200;
      const infos = await collect(QUERIES[state], state === 'stuck' ? Math.max(limit, 500) : limit);
      const all = await rows(infos);
      return (state === 'stuck' ? all.filter((r) => r.stuckReasons.length > 0) : all).slice(0, limit);
    },

    async show(workflowId: string): Promise<WorkflowRow> {
      const [row] = await rows([await describeRun(workflowId)]);
      if (!row) throw new DomainError(ErrorType.NotFound, `workflow ${workflowId} not found`);
      return row;
    },
  };
}

export type Visibility = ReturnType<typeof createVisibility>;
