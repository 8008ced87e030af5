/**
 * Temporal operations on purchase runs, shared by the webhook, the admin API and the ops CLI.
 * Workflow ids come from the purchase id, so a repeated start reaches the same run. Runs start from
 * the workflow functions themselves, so the SDK checks the arguments against their signatures.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { Config } from '../config';
import { purchaseWorkflowId } from '../shared/ids';
import { purchaseIdAttribute, purchaseStatusAttribute } from '../shared/search-attributes';
import { PurchaseStatus } from '../shared/status';
import { disputedSignal, paymentFailedSignal, refundedSignal } from '../workflows/definitions';
import { clawbackWorkflow, purchaseWorkflow } from '../workflows';
import type { PurchasePolicy } from '../workflows/purchase';

const WORKFLOW_TASK_TIMEOUT: Duration = '5 seconds';

export type PurchaseWorkflows = ReturnType<typeof createPurchaseWorkflows>;

function purchasePolicy(config: Readonly<Config>): PurchasePolicy {
  return {
    platformFeeBps: config.PLATFORM_FEE_BPS,
    approvalThresholdCents: config.APPROVAL_THRESHOLD_CENTS.toString(),
    // Kept as the configured text (the approval-timeout failure message quotes it). Config checked it
    // with durationMs; Temporal's Duration is a template-literal type a checked string cannot narrow to.
    approvalTimeout: config.APPROVAL_TIMEOUT as PurchasePolicy['approvalTimeout'],
    treasuryRecheckInterval: config.TREASURY_RECHECK_INTERVAL as PurchasePolicy['treasuryRecheckInterval'],
    autoRefundOnFailure: config.AUTO_REFUND_ON_FAILURE,
    pauseRecheckInterval: config.SETTLEMENT_PAUSE_RECHECK_INTERVAL as PurchasePolicy['treasuryRecheckInterval'],
  };
}

export function createPurchaseWorkflows(client: Client, config: Readonly<Config>) {
  const taskQueue = config.TEMPORAL_TASK_QUEUE;
  const startOptions = (purchaseId: string) => ({
    workflowId: purchaseWorkflowId(purchaseId),
    taskQueue,
    args: [{ purchaseId, policy: purchasePolicy(config) }] as const,
    workflowIdConflictPolicy: 'USE_EXISTING' as const,
    workflowIdReusePolicy: 'REJECT_DUPLICATE' as const,
    // A workflow task lost with a killed worker is retried after this (the default is 10 s); a
    // purchase's tasks take milliseconds, so 5 s leaves ample room on a busy machine.
    workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT,
    typedSearchAttributes: [purchaseIdAttribute(purchaseId), purchaseStatusAttribute(PurchaseStatus.Paid)],
  });

  return {
    /** Start the run, or reach the existing one. A run that already completed stays completed. */
    async start(purchaseId: string): Promise<'running' | 'completed'> {
      try {
        await client.workflow.start(purchaseWorkflow, { ...startOptions(purchaseId), args: [...startOptions(purchaseId).args] });
        return 'running';
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return 'completed';
        throw err;
      }
    },

    /**
     * A refund, dispute or failed payment: signal the run, starting it if no event has yet (the run then
     * aborts before moving money). If the run already completed, the clawback workflow records it.
     */
    async abort(
      purchaseId: string,
      reason: 'refunded' | 'disputed' | 'payment_failed',
      eventId: string,
    ): Promise<'signalled' | 'clawback' | 'ignored'> {
      const def = reason === 'refunded' ? refundedSignal : reason === 'disputed' ? disputedSignal : paymentFailedSignal;
      try {
        await client.workflow.signalWithStart(purchaseWorkflow, {
          ...startOptions(purchaseId),
          args: [...startOptions(purchaseId).args],
          signal: def,
          signalArgs: [{ eventId }],
        });
        return 'signalled';
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      if (reason === 'payment_failed') return 'ignored';
      try {
        await client.workflow.start(clawbackWorkflow, {
          workflowId: `clawback-${purchaseId}`,
          taskQueue,
          args: [{ purchaseId, reason }],
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      return 'clawback';
    },
  };
}
