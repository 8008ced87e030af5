/**
 * One run per purchase (workflow id `purchase-<purchaseId>`): fee → split → treasury hold →
 * (approval) → atomic on-chain settlement (the pivot) → ledger and payout records.
 * Before the pivot every step registers its compensation; after it, steps only retry forward.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { Activities } from '../activities';
import type { PayoutInput, SettlementPlan } from '../activities/purchase';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES } from '../shared/errors';
import { computeFees, splitLargestRemainder } from '../shared/money';
import { ApprovalReason, type RiskReason } from '../shared/risk';
import { purchaseDetailAttributes, purchaseStatusAttribute } from '../shared/search-attributes';
import { PurchaseStatus } from '../shared/status';
import {
  approveSignal,
  disputedSignal,
  paymentFailedSignal,
  refundedSignal,
  rejectSignal,
  retryNowSignal,
  settlementResumedSignal,
  statusQuery,
  treasuryReplenishedSignal,
  type PurchaseState,
  type PurchaseWorkflowInput,
  type PurchaseWorkflowResult,
} from './definitions';

/** Policy knobs read from config by the worker and passed as the workflow's memo-free input. */
export interface PurchasePolicy {
  platformFeeBps: number;
  approvalThresholdCents: string;
  approvalTimeout: Duration;
  treasuryRecheckInterval: Duration;
  autoRefundOnFailure: boolean;
  /** how often a run waiting on the emergency pause re-reads it; absent in runs started before the pause existed */
  pauseRecheckInterval?: Duration;
}

/** The patch id of the emergency-pause gate before the pivot (histories recorded before it replay without it). */
const SETTLEMENT_PAUSE_PATCH = 'settlement-pause-gate';

/**
 * The patch id of the shape with fewer round trips: the PostgreSQL steps run as local activities
 * (in the workflow task, no trip through the server), load marks the purchase paid, and the fees,
 * the treasury hold and its status are one transaction. Histories recorded before it replay the old shape.
 */
const MERGED_STEPS_PATCH = 'merged-db-steps';

const nonRetryableErrorTypes = [...NON_RETRYABLE_ERROR_TYPES];

// Timeouts are sized to each step. The long steps heartbeat every second (activities/heartbeat.ts),
// so an attempt lost with its worker is retried after `heartbeatTimeout`; `startToCloseTimeout` only
// bounds an attempt that is alive but stuck. Every step is idempotent, so a timed-out attempt is
// simply retried. Retries back off quickly but are capped at seconds, not minutes: the faults they
// ride out (a restarting database, a node answering 503, a Stripe 500) clear in seconds, and a
// minutes-long cap only left a recovered purchase waiting.

/** PostgreSQL: single statements or one short transaction each. */
const db = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', nonRetryableErrorTypes },
});

/**
 * The same PostgreSQL steps as local activities, for runs of the merged shape. A local activity is
 * at least once like any other (re-run when its workflow task is lost before it completes); each of
 * these is idempotent.
 */
const localDb = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', nonRetryableErrorTypes },
});

/** The balance transaction can lag `payment_intent.succeeded`: a bounded schedule, then an alert. */
const stripeFee = proxyActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  heartbeatTimeout: '5 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 12, nonRetryableErrorTypes },
});

const stripeRefund = proxyActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  heartbeatTimeout: '5 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes },
});

/** Send and confirm, or resume an earlier attempt from the settlement journal; a retry never re-pays. */
const chain = proxyActivities<Activities>({
  startToCloseTimeout: '90 seconds',
  heartbeatTimeout: '5 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '15 seconds',
    nonRetryableErrorTypes: [...nonRetryableErrorTypes, ErrorType.InsufficientTreasury],
  },
});

export async function purchaseWorkflow(input: PurchaseWorkflowInput & { policy: PurchasePolicy }): Promise<PurchaseWorkflowResult> {
  const { purchaseId, policy } = input;
  const state: PurchaseState = {
    purchaseId,
    status: PurchaseStatus.Paid,
    waitingFor: null,
    txId: null,
    lastError: null,
    compensations: [],
  };
  // Mutated by signal handlers; kept in one object so control-flow narrowing does not go stale.
  const inbox = {
    abort: null as 'refunded' | 'disputed' | 'payment_failed' | null,
    decision: null as { approved: boolean; actor: string; reason?: string } | null,
    wakeups: 0,
    resumes: 0,
  };

  setHandler(statusQuery, () => state);
  setHandler(refundedSignal, () => void (inbox.abort ??= 'refunded'));
  setHandler(disputedSignal, () => void (inbox.abort ??= 'disputed'));
  setHandler(paymentFailedSignal, () => void (inbox.abort ??= 'payment_failed'));
  setHandler(approveSignal, ({ actor }) => void (inbox.decision ??= { approved: true, actor }));
  setHandler(rejectSignal, ({ actor, reason }) => void (inbox.decision ??= { approved: false, actor, reason }));
  setHandler(treasuryReplenishedSignal, () => void (inbox.wakeups += 1));
  setHandler(retryNowSignal, () => void (inbox.wakeups += 1));
  setHandler(settlementResumedSignal, () => void (inbox.resumes += 1));

  const compensations: { name: string; run: () => Promise<unknown> }[] = [];
  const merged = patched(MERGED_STEPS_PATCH);
  const store = merged ? localDb : db;

  /** The status for the Temporal UI's filters, when the database already has it. */
  function showStatus(status: PurchaseStatus) {
    state.status = status;
    upsertSearchAttributes([purchaseStatusAttribute(status)]);
  }

  async function setStatus(status: PurchaseStatus, failure?: { type: string; message: string }) {
    state.status = status;
    upsertSearchAttributes([purchaseStatusAttribute(status)]);
    await store.markPurchaseStatus(purchaseId, status, failure);
  }

  /** Park until a signal or the re-check interval; returns false if the purchase was aborted meanwhile. */
  async function waitForWakeup(timeout: Duration): Promise<boolean> {
    const seen = inbox.wakeups;
    await condition(() => inbox.wakeups !== seen || inbox.abort !== null, timeout);
    return inbox.abort === null;
  }

  /** Run compensations in reverse; a failed compensation is recorded and surfaced, never swallowed. */
  async function compensate(): Promise<void> {
    await CancellationScope.nonCancellable(async () => {
      for (const c of [...compensations].reverse()) {
        try {
          await c.run();
          state.compensations.push({ name: c.name, ok: true });
        } catch (err) {
          // The activity's typed failure: String(err) of an ActivityFailure is only "Activity task failed".
          const failure = failureOf(err);
          const error = `${failure.type}: ${failure.message}`;
          state.compensations.push({ name: c.name, ok: false, error });
          log.error('compensation failed', { purchaseId, compensation: c.name, error });
          await store.raiseAlert({
            dedupeKey: `purchase:${purchaseId}:compensation:${c.name}`,
            severity: 'critical',
            kind: 'compensation_failed',
            message: `compensation ${c.name} failed for ${purchaseId}`,
          });
        }
      }
    });
  }

  async function endBeforePivot(status: PurchaseStatus, failure: { type: string; message: string }): Promise<PurchaseWorkflowResult> {
    state.lastError = failure;
    state.waitingFor = null;
    await compensate();
    await CancellationScope.nonCancellable(() => setStatus(status, failure));
    return { purchaseId, status, txId: null };
  }

  /**
   * The emergency pause's gate before the pivot: one activity reads the pause and marks the purchase
   * settling (or paused) atomically. While paused, wait for the resume signal, re-reading on a timer
   * in case a signal is lost. Returns false if the purchase was aborted meanwhile.
   */
  async function passPauseGate(): Promise<boolean> {
    for (;;) {
      const seen = inbox.resumes;
      const { entered } = await store.enterSettlement(purchaseId);
      const status = entered ? PurchaseStatus.Settling : PurchaseStatus.Paused;
      if (state.status !== status) {
        state.status = status;
        upsertSearchAttributes([purchaseStatusAttribute(status)]);
      }
      if (entered) {
        state.waitingFor = null;
        return true;
      }
      state.waitingFor = 'paused';
      await condition(() => inbox.resumes !== seen || inbox.abort !== null, policy.pauseRecheckInterval ?? '1 minute');
      if (inbox.abort) return false;
    }
  }

  const abortStatus = () =>
    inbox.abort === 'refunded' ? PurchaseStatus.Refunded : inbox.abort === 'disputed' ? PurchaseStatus.Disputed : PurchaseStatus.Failed;
  const abortFailure = () => ({ type: ErrorType.PurchaseAborted, message: `purchase aborted before settlement: ${inbox.abort}` });

  let plan: SettlementPlan;
  try {
    // 1. Load and validate (the merged shape marks the purchase paid in the same step).
    plan = merged ? await localDb.beginPurchase(purchaseId) : await db.loadPurchase(purchaseId);
    upsertSearchAttributes([
      ...purchaseDetailAttributes({
        purchaseId,
        productId: plan.productId,
        rail: plan.rail,
        buyerWallet: plan.buyerWallet,
        grossCents: plan.expectedGrossCents,
      }),
      ...(merged ? [purchaseStatusAttribute(PurchaseStatus.Paid)] : []),
    ]);
    if (inbox.abort) return await endBeforePivot(abortStatus(), abortFailure());
    if (!merged) await setStatus(PurchaseStatus.Paid);
    if (policy.autoRefundOnFailure) {
      compensations.push({ name: 'refundPayment', run: () => stripeRefund.refundPayment(purchaseId) });
    }

    // 2. Capture the real fee; keep trying on a bounded schedule, then alert and wait for ops.
    let fee: Awaited<ReturnType<Activities['captureStripeFee']>> | undefined;
    while (!fee) {
      try {
        state.waitingFor = null;
        fee = await stripeFee.captureStripeFee(purchaseId);
      } catch (err) {
        if (!isRetryExhausted(err, ErrorType.FeeNotYetAvailable)) throw err;
        state.waitingFor = 'payment_fee';
        state.lastError = failureOf(err);
        await store.raiseAlert({
          dedupeKey: `purchase:${purchaseId}:fee-unavailable`,
          severity: 'warning',
          kind: 'fee_unavailable',
          message: `Stripe fee for ${purchaseId} is still unavailable`,
        });
        if (!(await waitForWakeup('1 hour'))) return await endBeforePivot(abortStatus(), abortFailure());
      }
    }

    // 3. The split, in integers; payouts sum exactly to the pool.
    const fees = computeFees(BigInt(fee.grossCents), BigInt(fee.stripeFeeCents), policy.platformFeeBps);
    const amounts = splitLargestRemainder(fees.creatorPoolMicroUsdc, plan.collaborators);
    const payouts: PayoutInput[] = plan.collaborators.map((c, i) => ({ ...c, amountMicroUsdc: (amounts[i] ?? 0n).toString() }));
    const feeStrings = {
      grossCents: fees.grossCents.toString(),
      stripeFeeCents: fees.stripeFeeCents.toString(),
      netCents: fees.netCents.toString(),
      platformFeeCents: fees.platformFeeCents.toString(),
      creatorPoolCents: fees.creatorPoolCents.toString(),
      creatorPoolMicroUsdc: fees.creatorPoolMicroUsdc.toString(),
    };
    const feeRecord = { purchaseId, paymentIntentId: fee.paymentIntentId, chargeId: fee.chargeId, fees: feeStrings };
    if (!merged) {
      await db.recordFees(feeRecord);
      showStatus(PurchaseStatus.FeeCaptured);
    }
    const voidHold = { name: 'voidTreasuryHold', run: () => store.voidTreasuryHold(purchaseId) };
    // A local activity's writes can outlive a workflow task lost with its worker, and the retried
    // task may then take another branch (an abort signal read before the reserve): so the merged
    // shape registers the void before it can reserve. Voiding is a no-op for a purchase with no hold.
    if (merged) compensations.push(voidHold);
    if (inbox.abort) return await endBeforePivot(abortStatus(), abortFailure());

    // 4. Front from the treasury: a pending hold, or a durable wait for funds. The merged shape
    // books the fees and the purchase's status in the reservation's transaction.
    let alerted = false;
    let riskReason: RiskReason | undefined;
    for (;;) {
      const hold = merged
        ? await localDb.recordFeesAndReserve({ ...feeRecord, rail: plan.rail })
        : await db.reserveTreasury({ purchaseId, rail: plan.rail, amountMicroUsdc: feeStrings.creatorPoolMicroUsdc });
      if (hold.reserved) {
        riskReason = hold.riskReason;
        break;
      }
      state.waitingFor = 'treasury';
      if (!alerted) {
        alerted = true;
        await store.raiseAlert({
          dedupeKey: `purchase:${purchaseId}:treasury-short`,
          severity: 'critical',
          kind: 'treasury_insufficient',
          message: `treasury cannot front ${feeStrings.creatorPoolMicroUsdc} micro-USDC for ${purchaseId}`,
          payload: { availableMicroUsdc: hold.availableMicroUsdc },
        });
        if (merged) showStatus(PurchaseStatus.AwaitingTreasury);
        else await setStatus(PurchaseStatus.AwaitingTreasury);
      }
      if (!(await waitForWakeup(policy.treasuryRecheckInterval))) return await endBeforePivot(abortStatus(), abortFailure());
    }
    if (!merged) compensations.push(voidHold);
    state.waitingFor = null;
    if (merged) showStatus(PurchaseStatus.TreasuryReserved);
    else await setStatus(PurchaseStatus.TreasuryReserved);

    // Over a risk limit (decided with the hold) or above the threshold: an admin decides.
    const approvalReason =
      riskReason ?? (fees.grossCents > BigInt(policy.approvalThresholdCents) ? ApprovalReason.AboveThreshold : undefined);
    if (approvalReason) {
      state.approvalReason = approvalReason;
      await setStatus(PurchaseStatus.AwaitingApproval);
      state.waitingFor = 'approval';
      if (riskReason) {
        await store.raiseAlert({
          dedupeKey: `purchase:${purchaseId}:${riskReason}`,
          severity: 'warning',
          kind: riskReason,
          message: `${purchaseId} went over a risk limit (${riskReason}) and waits for approval`,
        });
      }
      const decided = await condition(() => inbox.decision !== null || inbox.abort !== null, policy.approvalTimeout);
      state.waitingFor = null;
      state.approvalReason = undefined;
      if (inbox.abort) return await endBeforePivot(abortStatus(), abortFailure());
      const decision = inbox.decision;
      if (!decided || !decision?.approved) {
        const message = decision
          ? `rejected by ${decision.actor}${decision.reason ? `: ${decision.reason}` : ''}`
          : `no approval within ${String(policy.approvalTimeout)}`;
        return await endBeforePivot(PurchaseStatus.Failed, { type: ErrorType.ApprovalRejected, message });
      }
    }
    if (inbox.abort) return await endBeforePivot(abortStatus(), abortFailure());

    // 5. The pivot. The chain call is idempotent per purchase (deterministic mint / purchaseId).
    if (merged || patched(SETTLEMENT_PAUSE_PATCH)) {
      if (!(await passPauseGate())) return await endBeforePivot(abortStatus(), abortFailure());
    } else {
      await setStatus(PurchaseStatus.Settling);
    }
    let settled: Awaited<ReturnType<Activities['settleOnChain']>> | undefined;
    while (!settled) {
      try {
        // Not cancellable: a cancel arriving mid-send must not abandon a transaction that may land.
        settled = await CancellationScope.nonCancellable(() =>
          chain.settleOnChain({ purchaseId, rail: plan.rail, buyerWallet: plan.buyerWallet, nft: plan.nft, payouts }),
        );
      } catch (err) {
        // The ledger said yes but the chain says the treasury is short: nothing moved; wait for funds.
        if (failureType(err) !== ErrorType.InsufficientTreasury) throw err;
        state.lastError = failureOf(err);
        state.waitingFor = 'treasury';
        await store.raiseAlert({
          dedupeKey: `purchase:${purchaseId}:chain-treasury-short`,
          severity: 'critical',
          kind: 'treasury_mismatch',
          message: `on-chain treasury could not cover ${purchaseId} although the ledger could`,
        });
        if (!(await waitForWakeup(policy.treasuryRecheckInterval))) return await endBeforePivot(abortStatus(), abortFailure());
      }
    }
    state.txId = settled.txId;
    state.waitingFor = null;
    compensations.length = 0; // past the pivot nothing on chain is ever undone

    // 6. Record: forward-only from here.
    await CancellationScope.nonCancellable(async () => {
      await store.recordSettlement({
        purchaseId,
        rail: plan.rail,
        txId: settled.txId,
        nftId: settled.nftId,
        grossCents: feeStrings.grossCents,
        stripeFeeCents: feeStrings.stripeFeeCents,
        creatorPoolMicroUsdc: feeStrings.creatorPoolMicroUsdc,
        payouts,
      });
      showStatus(PurchaseStatus.Settled);
      const late = inbox.abort;
      if (late === 'refunded' || late === 'disputed') {
        await recordClawback(late, feeStrings.grossCents, feeStrings.creatorPoolMicroUsdc);
      }
    });
    return { purchaseId, status: state.status, txId: state.txId };
  } catch (err) {
    if (isCancellation(err)) {
      await endBeforePivot(PurchaseStatus.Failed, { type: ErrorType.Cancelled, message: 'cancelled by an operator' });
      throw err;
    }
    const failure = failureOf(err);
    log.error('purchase failed before settlement', { purchaseId, ...failure });
    return await endBeforePivot(PurchaseStatus.Failed, failure);
  }

  async function recordClawback(reason: 'refunded' | 'disputed', grossCents: string, creatorPoolMicroUsdc: string) {
    await store.recordClawback({ purchaseId, reason, grossCents, creatorPoolMicroUsdc });
    showStatus(reason === 'refunded' ? PurchaseStatus.Refunded : PurchaseStatus.Disputed);
    await store.raiseAlert({
      dedupeKey: `purchase:${purchaseId}:clawback`,
      severity: 'critical',
      kind: 'clawback',
      message: `${purchaseId} was ${reason} after settlement; clawback receivable recorded`,
    });
  }
}

/**
 * A refund or dispute that arrives after the purchase run has completed: record the clawback.
 * Started by the webhook as `clawback-<purchaseId>`, so a repeat is one run.
 */
export async function clawbackWorkflow(input: { purchaseId: string; reason: 'refunded' | 'disputed' }): Promise<void> {
  const view = await db.loadSettledAmounts(input.purchaseId);
  if (!view) {
    log.warn('clawback for a purchase that never settled: nothing to record', { purchaseId: input.purchaseId });
    return;
  }
  await db.recordClawback({
    purchaseId: input.purchaseId,
    reason: input.reason,
    grossCents: view.grossCents,
    creatorPoolMicroUsdc: view.creatorPoolMicroUsdc,
  });
  await db.raiseAlert({
    dedupeKey: `purchase:${input.purchaseId}:clawback`,
    severity: 'critical',
    kind: 'clawback',
    message: `${input.purchaseId} was ${input.reason} after settlement; clawback receivable recorded`,
  });
}

function failureType(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

function failureOf(err: unknown): { type: string; message: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? ErrorType.Internal, message: cause.message };
  return { type: ErrorType.Internal, message: err instanceof Error ? err.message : String(err) };
}

function isRetryExhausted(err: unknown, type: string): boolean {
  return err instanceof ActivityFailure && failureType(err) === type;
}
