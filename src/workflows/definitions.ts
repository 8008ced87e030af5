/** Signals and queries, defined once; the API, the ops CLI and the workflows all import these. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
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

export interface PurchaseState {
  purchaseId: string;
  status: PurchaseStatus;
  /** what the run is waiting for, if anything */
  waitingFor: 'payment_fee' | 'treasury' | 'approval' | null;
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
