/**
 * Visibility queries over purchase runs, built from the same constants the workflow upserts and the
 * SDK starts with, so a renamed status, search attribute or workflow cannot leave a query behind.
 */
import { SA } from '../../shared/search-attributes';
import { PurchaseStatus } from '../../shared/status';
import { purchaseWorkflow } from '../../workflows';

/** Temporal's `ExecutionStatus` values as the visibility query language spells them. */
export const ExecutionStatus = {
  Running: 'Running',
  Completed: 'Completed',
  Failed: 'Failed',
  Canceled: 'Canceled',
  Terminated: 'Terminated',
  ContinuedAsNew: 'ContinuedAsNew',
  TimedOut: 'TimedOut',
} as const;
export type ExecutionStatus = (typeof ExecutionStatus)[keyof typeof ExecutionStatus];

const literal = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const inList = (values: readonly string[]) => `(${values.map(literal).join(', ')})`;

export const PURCHASE_RUNS = `WorkflowType = ${literal(purchaseWorkflow.name)}`;
export const RUNNING_PURCHASE_RUNS = `${PURCHASE_RUNS} AND ExecutionStatus = ${literal(ExecutionStatus.Running)}`;

/** Statuses in which a run waits for a person (approval, the emergency pause) or for money (treasury), not for a step. */
export const AWAITING_STATUSES: readonly PurchaseStatus[] = [
  PurchaseStatus.AwaitingApproval,
  PurchaseStatus.AwaitingTreasury,
  PurchaseStatus.Paused,
];

export const withPurchaseStatus = (statuses: readonly PurchaseStatus[]): string =>
  statuses.length === 1 ? `${SA.PurchaseStatus.name} = ${literal(statuses[0] ?? '')}` : `${SA.PurchaseStatus.name} IN ${inList(statuses)}`;

export const ENDED_UNSUCCESSFULLY: readonly ExecutionStatus[] = [
  ExecutionStatus.Failed,
  ExecutionStatus.Terminated,
  ExecutionStatus.TimedOut,
  ExecutionStatus.Canceled,
];

export const withExecutionStatus = (statuses: readonly ExecutionStatus[]): string => `ExecutionStatus IN ${inList(statuses)}`;
