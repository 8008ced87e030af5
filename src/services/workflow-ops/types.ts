import type { Client } from '@temporalio/client';
import type { Config } from '../../config';
import type { Db } from '../../db/client';

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
  /** while awaiting approval: the risk limit it went over, or approval_threshold */
  approvalReason: string | null;
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
