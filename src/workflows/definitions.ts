/** Signals and queries, defined once; the API, the ops CLI and the workflows all import these. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ApprovalReason } from '../shared/risk';
import type { PurchaseStatus } from '../shared/status';

export interface ActorInput {
  actor: string;
  reason?: string;
}

export const refundedSignal = defineSignal<[{ eventId: string }]>('refunded');
export const disputedSignal = defineSignal<[{ eventId: string }]>('disputed');
export const paymentFailedSignal = defineSignal<[{ eventId: string }]>('paymentFailed');
export const approveSignal = defineSignal<[ActorInput]>('approve');
export const rejectSignal = defineSignal<[ActorInput]>('reject');
export const treasuryReplenishedSignal = defineSignal('treasuryReplenished');
export const retryNowSignal = defineSignal('retryNow');
/** The emergency pause was lifted: a run waiting at the pivot re-reads it now. */
export const settlementResumedSignal = defineSignal('settlementResumed');

export interface PurchaseState {
  purchaseId: string;
  status: PurchaseStatus;
  /** what the run is waiting for, if anything */
  waitingFor: 'payment_fee' | 'treasury' | 'approval' | 'paused' | null;
  /** why it waits for approval (a risk limit, or the approval threshold); only while it does */
  approvalReason?: ApprovalReason;
  txId: string | null;
  lastError: { type: string; message: string } | null;
  compensations: { name: string; ok: boolean; error?: string }[];
}

export const statusQuery = defineQuery<PurchaseState>('status');

export interface PurchaseWorkflowInput {
  purchaseId: string;
}

export interface PurchaseWorkflowResult {
  purchaseId: string;
  status: PurchaseStatus;
  txId: string | null;
}
