/**
 * The purchase saga's riskiest branches on Temporal's time-skipping test server: the approval
 * timeout, the fee wait loop (bounded retries → alert → wait → wake-up), the auto-refund
 * compensation and a compensation that fails. The 7-day approval window, the 12-attempt fee
 * schedule and the 1-hour wake-up pass in skipped time; each run's own start and close times
 * show how much workflow time went by.
 *
 * The activities are in-test fakes with the real activities' signatures (typed against
 * `Activities`) that record every call; their DomainErrors go through the same activity interceptor
 * the worker registers, so the workflow sees the same typed ApplicationFailures.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, makeTelemetryFilterString, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Activities } from '../../src/activities';
import { domainErrorInterceptor } from '../../src/activities/errors';
import type { SettlementPlan } from '../../src/activities/purchase';
import { DomainError, ErrorType } from '../../src/shared/errors';
import { PurchaseStatus, Rail } from '../../src/shared/status';
import {
  approveSignal,
  disputedSignal,
  refundedSignal,
  retryNowSignal,
  statusQuery,
  type PurchaseState,
} from '../../src/workflows/definitions';
import type { PurchasePolicy } from '../../src/workflows/purchase';
import { startTimeSkipping, workflowBundle } from '../helpers/temporal';

type SagaActivityName =
  | 'beginPurchase'
  | 'markPurchaseStatus'
  | 'raiseAlert'
  | 'captureStripeFee'
  | 'recordFeesAndReserve'
  | 'enterSettlement'
  | 'voidTreasuryHold'
  | 'settleOnChain'
  | 'recordSettlement'
  | 'recordClawback'
  | 'refundPayment';
type SagaActivities = Pick<Activities, SagaActivityName>;

const HOUR_MS = 3_600_000;

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let seq = 0;

beforeAll(async () => {
  // Every scenario fails activities on purpose (a dozen fee attempts each); the worker logs each one
  // as a warning, and the test server lacks a capability the SDK warns about. Keep errors only.
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
  });
  env = await startTimeSkipping();
  bundle = await workflowBundle();
});

afterAll(async () => {
  await env?.teardown();
});

const basePolicy: PurchasePolicy = {
  platformFeeBps: 1000,
  approvalThresholdCents: '100000',
  approvalTimeout: '7 days',
  treasuryRecheckInterval: '10 minutes',
  autoRefundOnFailure: false,
};

function planFor(purchaseId: string, grossCents: bigint): SettlementPlan {
  return {
    purchaseId,
    productId: 'prod_saga',
    rail: Rail.Solana,
    buyerWallet: 'BuyerWa11et1111111111111111111111111111111',
    expectedGrossCents: grossCents.toString(),
    nft: { name: 'Saga', symbol: 'SAGA', uri: 'https://example.invalid/saga.json' },
    collaborators: [
      { position: 0, wallet: 'Artist111', role: 'artist', shareBps: 6000 },
      { position: 1, wallet: 'Producer111', role: 'producer', shareBps: 4000 },
    ],
  };
}

/**
 * Fakes that settle a purchase of `grossCents` (Stripe fee 2.9% + 30¢ as the dev Stripe charges)
 * unless `overrides` replace a step; every call is recorded in order.
 */
function fakeActivities(grossCents: bigint, overrides: Partial<SagaActivities> = {}) {
  const calls: { name: SagaActivityName; args: unknown[] }[] = [];
  const feeCents = (grossCents * 29n + 500n) / 1000n + 30n;
  const defaults: SagaActivities = {
    beginPurchase: (purchaseId) => Promise.resolve(planFor(purchaseId, grossCents)),
    markPurchaseStatus: () => Promise.resolve(),
    raiseAlert: () => Promise.resolve({ created: true }),
    captureStripeFee: (purchaseId) =>
      Promise.resolve({
        grossCents: grossCents.toString(),
        stripeFeeCents: feeCents.toString(),
        paymentIntentId: `pi_${purchaseId}`,
        chargeId: `ch_${purchaseId}`,
      }),
    recordFeesAndReserve: () => Promise.resolve({ reserved: true, availableMicroUsdc: '1000000000000' }),
    enterSettlement: () => Promise.resolve({ entered: true }),
    voidTreasuryHold: () => Promise.resolve('voided'),
    settleOnChain: (input) => Promise.resolve({ txId: `tx_${input.purchaseId}`, nftId: `nft_${input.purchaseId}`, alreadySettled: false }),
    recordSettlement: () => Promise.resolve(),
    recordClawback: () => Promise.resolve(),
    refundPayment: (purchaseId) => Promise.resolve({ refundId: `re_${purchaseId}` }),
  };
  const impl: SagaActivities = { ...defaults, ...overrides };
  const recorded = {} as Record<SagaActivityName, (...args: never[]) => Promise<unknown>>;
  for (const name of Object.keys(impl) as SagaActivityName[]) {
    const fn = impl[name] as (...args: unknown[]) => Promise<unknown>;
    recorded[name] = (...args: never[]) => {
      calls.push({ name, args });
      return fn(...args);
    };
  }
  /** The arguments of every call to `name`, in order (recorded from that activity, so of its type). */
  const of = <K extends SagaActivityName>(name: K) =>
    calls.filter((c) => c.name === name).map((c) => c.args as Parameters<SagaActivities[K]>);
  return { activities: recorded, calls, of, names: () => calls.map((c) => c.name) };
}

type Fakes = ReturnType<typeof fakeActivities>;

/** One worker for one scenario: started, `body` run against the run's handle, then shut down. */
async function scenario<T>(
  fakes: Fakes,
  policy: PurchasePolicy,
  body: (h: ReturnType<typeof start>, purchaseId: string) => Promise<T>,
): Promise<T> {
  const purchaseId = `pur_saga_${++seq}_${Date.now()}`;
  // A task queue per scenario: a worker left behind by a failed test cannot pick up the next one's tasks.
  const taskQueue = `saga-branches-${seq}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: fakes.activities,
    interceptors: { activity: [domainErrorInterceptor] },
  });
  return worker.runUntil(body(start(purchaseId, policy, taskQueue), purchaseId));
}

function start(purchaseId: string, policy: PurchasePolicy, taskQueue: string) {
  return env.client.workflow.start('purchaseWorkflow', {
    workflowId: `purchase-${purchaseId}`,
    taskQueue,
    args: [{ purchaseId, policy }],
  });
}

/** Poll the status query (in real time: nothing here unlocks time skipping) until `done` holds. */
async function queryUntil(handle: Awaited<ReturnType<typeof start>>, done: (s: PurchaseState) => boolean): Promise<PurchaseState> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const s = await handle.query(statusQuery);
    if (done(s)) return s;
    if (Date.now() > deadline) throw new Error(`status query never matched; last: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Workflow time from start to close, in milliseconds. */
async function workflowMillis(handle: Awaited<ReturnType<typeof start>>): Promise<number> {
  const d = await handle.describe();
  if (!d.closeTime) throw new Error('run is still open');
  return d.closeTime.getTime() - d.startTime.getTime();
}

const feeUnavailable = (purchaseId: string) =>
  Promise.reject(new DomainError(ErrorType.FeeNotYetAvailable, `charge ch_${purchaseId} has no balance transaction yet`));

describe('approval timeout', () => {
  test('no decision within the approval window: failed with approval_rejected, the hold voided, nothing settled', async () => {
    const fakes = fakeActivities(250_000n);
    await scenario(fakes, basePolicy, async (started, purchaseId) => {
      const handle = await started;
      const waiting = await queryUntil(handle, (s) => s.waitingFor === 'approval');
      expect(waiting.status).toBe(PurchaseStatus.AwaitingApproval);

      await expect(handle.result()).resolves.toEqual({ purchaseId, status: PurchaseStatus.Failed, txId: null });
      expect(await workflowMillis(handle)).toBeGreaterThanOrEqual(7 * 24 * HOUR_MS);

      const reason = { type: 'approval_rejected', message: 'no approval within 7 days' };
      expect(fakes.of('voidTreasuryHold')).toEqual([[purchaseId]]);
      expect(fakes.of('settleOnChain')).toEqual([]);
      expect(fakes.of('refundPayment')).toEqual([]);
      // paid and treasury_reserved are written by beginPurchase and recordFeesAndReserve
      expect(fakes.of('markPurchaseStatus').map((a) => a[1])).toEqual([PurchaseStatus.AwaitingApproval, PurchaseStatus.Failed]);
      expect(fakes.of('markPurchaseStatus').at(-1)).toEqual([purchaseId, PurchaseStatus.Failed, reason]);
      // the hold is voided before the purchase is marked failed
      expect(fakes.names().lastIndexOf('voidTreasuryHold')).toBeLessThan(fakes.names().lastIndexOf('markPurchaseStatus'));
      expect(await handle.query(statusQuery)).toEqual({
        purchaseId,
        status: PurchaseStatus.Failed,
        waitingFor: null,
        txId: null,
        lastError: reason,
        compensations: [{ name: 'voidTreasuryHold', ok: true }],
      });
    });
  });

  test('an approval inside the window settles (the same run shape, so the timeout test is not vacuous)', async () => {
    const fakes = fakeActivities(250_000n);
    await scenario(fakes, basePolicy, async (started, purchaseId) => {
      const handle = await started;
      await queryUntil(handle, (s) => s.waitingFor === 'approval');
      await handle.signal(approveSignal, { actor: 'ops@example.com' });
      await expect(handle.result()).resolves.toEqual({ purchaseId, status: PurchaseStatus.Settled, txId: `tx_${purchaseId}` });
      expect(fakes.of('voidTreasuryHold')).toEqual([]);
      expect(fakes.of('settleOnChain')).toHaveLength(1);
    });
  });
});

describe('fee wait loop', () => {
  /** captureStripeFee fails with fee_not_yet_available until `ready.value` is set. */
  function feeLaggingFakes(ready: { value: boolean }) {
    const fakes: Fakes = fakeActivities(2500n, {
      captureStripeFee: (purchaseId) =>
        ready.value
          ? Promise.resolve({
              grossCents: '2500',
              stripeFeeCents: '103',
              paymentIntentId: `pi_${purchaseId}`,
              chargeId: `ch_${purchaseId}`,
            })
          : feeUnavailable(purchaseId),
    });
    return fakes;
  }

  /** Skip workflow time until the bounded schedule is exhausted and the run parks on `payment_fee`. */
  async function untilParked(handle: Awaited<ReturnType<typeof start>>): Promise<PurchaseState> {
    // The schedule is 12 attempts 2 s apart doubling to 2 min: about 12 minutes of back-off.
    await env.sleep('20 minutes');
    return queryUntil(handle, (s) => s.waitingFor === 'payment_fee');
  }

  function expectParked(fakes: Fakes, parked: PurchaseState, purchaseId: string) {
    expect(fakes.of('captureStripeFee')).toHaveLength(12);
    expect(fakes.of('raiseAlert')).toEqual([
      [
        {
          dedupeKey: `purchase:${purchaseId}:fee-unavailable`,
          severity: 'warning',
          kind: 'fee_unavailable',
          message: `Stripe fee for ${purchaseId} is still unavailable`,
        },
      ],
    ]);
    expect(parked).toMatchObject({
      status: PurchaseStatus.Paid,
      waitingFor: 'payment_fee',
      txId: null,
      lastError: { type: ErrorType.FeeNotYetAvailable, message: `charge ch_${purchaseId} has no balance transaction yet` },
    });
    expect(fakes.of('recordFeesAndReserve')).toEqual([]);
  }

  function expectSettledWithFee(fakes: Fakes, purchaseId: string) {
    expect(fakes.of('captureStripeFee')).toHaveLength(13);
    // $25.00 − 103¢ fee = 2397¢ net; 10% platform fee floors to 239¢; pool 2158¢ = 21,580,000 micro-USDC
    expect(fakes.of('recordFeesAndReserve')).toEqual([
      [
        {
          purchaseId,
          rail: Rail.Solana,
          paymentIntentId: `pi_${purchaseId}`,
          chargeId: `ch_${purchaseId}`,
          fees: {
            grossCents: '2500',
            stripeFeeCents: '103',
            netCents: '2397',
            platformFeeCents: '239',
            creatorPoolCents: '2158',
            creatorPoolMicroUsdc: '21580000',
          },
        },
      ],
    ]);
    expect(fakes.of('settleOnChain')[0]?.[0].payouts.map((p) => p.amountMicroUsdc)).toEqual(['12948000', '8632000']);
    expect(fakes.of('raiseAlert')).toHaveLength(1);
  }

  test('fee unavailable → alert, waiting for payment_fee; retryNow captures the fee and it settles before the hourly wake-up', async () => {
    const ready = { value: false };
    const fakes = feeLaggingFakes(ready);
    await scenario(fakes, basePolicy, async (started, purchaseId) => {
      const handle = await started;
      const parked = await untilParked(handle);
      expectParked(fakes, parked, purchaseId);

      ready.value = true;
      await handle.signal(retryNowSignal);
      await expect(handle.result()).resolves.toEqual({ purchaseId, status: PurchaseStatus.Settled, txId: `tx_${purchaseId}` });
      expectSettledWithFee(fakes, purchaseId);
      // woken by the signal: the run closed well before the 1-hour timer would have fired
      expect(await workflowMillis(handle)).toBeLessThan(HOUR_MS);
      expect(await handle.query(statusQuery)).toMatchObject({ status: PurchaseStatus.Settled, waitingFor: null, txId: `tx_${purchaseId}` });
    });
  });

  test('fee unavailable, no signal: the 1-hour wake-up retries the capture and it settles', async () => {
    const ready = { value: false };
    const fakes = feeLaggingFakes(ready);
    await scenario(fakes, basePolicy, async (started, purchaseId) => {
      const handle = await started;
      const parked = await untilParked(handle);
      expectParked(fakes, parked, purchaseId);

      ready.value = true;
      await expect(handle.result()).resolves.toEqual({ purchaseId, status: PurchaseStatus.Settled, txId: `tx_${purchaseId}` });
      expectSettledWithFee(fakes, purchaseId);
      // parked after about 12 minutes of back-off, woken an hour later
      const elapsed = await workflowMillis(handle);
      expect(elapsed).toBeGreaterThanOrEqual(HOUR_MS);
      expect(elapsed).toBeLessThan(2 * HOUR_MS);
    });
  });
});

describe('emergency pause', () => {
  /** enterSettlement answers "paused" until `open.value` is set, as the database gate does while the pause is on. */
  const pausedFakes = (open: { value: boolean }) =>
    fakeActivities(2500n, { enterSettlement: () => Promise.resolve({ entered: open.value }) });
  const pausePolicy: PurchasePolicy = { ...basePolicy, pauseRecheckInterval: '1 minute' };

  test('paused at the pivot, its resume signal lost: the re-check timer lets it settle once the pause is lifted', async () => {
    const open = { value: false };
    const fakes = pausedFakes(open);
    await scenario(fakes, pausePolicy, async (started, purchaseId) => {
      const handle = await started;
      const parked = await queryUntil(handle, (s) => s.waitingFor === 'paused');
      expect(parked).toMatchObject({ status: PurchaseStatus.Paused, waitingFor: 'paused', txId: null });
      expect(fakes.of('settleOnChain')).toEqual([]);
      // Workflow time passes (re-checks every minute), the pause stays on: still nothing sent.
      await env.sleep('5 minutes');
      expect(fakes.of('settleOnChain')).toEqual([]);
      const checks = fakes.of('enterSettlement').length;
      expect(checks).toBeGreaterThanOrEqual(5);

      open.value = true; // lifted in the database; no settlementResumed signal arrives
      await expect(handle.result()).resolves.toEqual({ purchaseId, status: PurchaseStatus.Settled, txId: `tx_${purchaseId}` });
      expect(fakes.of('settleOnChain')).toHaveLength(1);
      expect(fakes.of('voidTreasuryHold')).toEqual([]);
    });
  });

  test('a refund while paused aborts before the pivot: the hold is voided and nothing is sent', async () => {
    const fakes = pausedFakes({ value: false });
    await scenario(fakes, pausePolicy, async (started, purchaseId) => {
      const handle = await started;
      await queryUntil(handle, (s) => s.waitingFor === 'paused');
      await handle.signal(refundedSignal, { eventId: 'evt_refund_while_paused' });
      await expect(handle.result()).resolves.toEqual({ purchaseId, status: PurchaseStatus.Refunded, txId: null });
      expect(fakes.of('settleOnChain')).toEqual([]);
      expect(fakes.of('voidTreasuryHold')).toEqual([[purchaseId]]);
    });
  });
});

describe('compensations', () => {
  const rejectedAtSettlement = (purchaseId: string) =>
    Promise.reject(new DomainError(ErrorType.SettlementRejected, `the chain refused the settlement of ${purchaseId}`));

  test('AUTO_REFUND_ON_FAILURE: a failure before the pivot voids the hold, then refunds the card once', async () => {
    const fakes = fakeActivities(2500n, { settleOnChain: (input) => rejectedAtSettlement(input.purchaseId) });
    await scenario(fakes, { ...basePolicy, autoRefundOnFailure: true }, async (started, purchaseId) => {
      const handle = await started;
      await expect(handle.result()).resolves.toEqual({ purchaseId, status: PurchaseStatus.Failed, txId: null });
      const failure = { type: ErrorType.SettlementRejected, message: `the chain refused the settlement of ${purchaseId}` };
      expect(fakes.of('refundPayment')).toEqual([[purchaseId]]);
      expect(fakes.of('voidTreasuryHold')).toEqual([[purchaseId]]);
      // compensations run in reverse registration order, then the purchase is marked failed
      expect(fakes.names().slice(-3)).toEqual(['voidTreasuryHold', 'refundPayment', 'markPurchaseStatus']);
      expect(fakes.of('markPurchaseStatus').at(-1)).toEqual([purchaseId, PurchaseStatus.Failed, failure]);
      expect(fakes.of('recordSettlement')).toEqual([]);
      expect(await handle.query(statusQuery)).toMatchObject({
        status: PurchaseStatus.Failed,
        lastError: failure,
        compensations: [
          { name: 'voidTreasuryHold', ok: true },
          { name: 'refundPayment', ok: true },
        ],
      });
    });
  });

  test('without AUTO_REFUND_ON_FAILURE the same failure voids the hold and refunds nothing', async () => {
    const fakes = fakeActivities(2500n, { settleOnChain: (input) => rejectedAtSettlement(input.purchaseId) });
    await scenario(fakes, basePolicy, async (started, purchaseId) => {
      const handle = await started;
      await expect(handle.result()).resolves.toMatchObject({ status: PurchaseStatus.Failed });
      expect(fakes.of('voidTreasuryHold')).toEqual([[purchaseId]]);
      expect(fakes.of('refundPayment')).toEqual([]);
    });
  });

  test('a dispute read before the treasury reserve still voids a hold: a lost workflow task may have written one', async () => {
    // The reserve is a local activity: a worker killed after its transaction committed but before
    // the task completed leaves a hold that history does not know of, and the retried task can read
    // the dispute first. The void is registered before the reserve so that hold is released.
    let feeStarted!: () => void;
    const feeRequested = new Promise<void>((r) => (feeStarted = r));
    let releaseFee!: () => void;
    const feeGate = new Promise<void>((r) => (releaseFee = r));
    const fakes = fakeActivities(2500n, {
      captureStripeFee: async (purchaseId) => {
        feeStarted();
        await feeGate;
        return { grossCents: '2500', stripeFeeCents: '103', paymentIntentId: `pi_${purchaseId}`, chargeId: `ch_${purchaseId}` };
      },
      voidTreasuryHold: () => Promise.resolve('voided'),
    });
    await scenario(fakes, basePolicy, async (started, purchaseId) => {
      const handle = await started;
      await feeRequested;
      await handle.signal(disputedSignal, { eventId: 'evt_dispute_before_reserve' });
      releaseFee();
      await expect(handle.result()).resolves.toEqual({ purchaseId, status: PurchaseStatus.Disputed, txId: null });
      expect(fakes.of('recordFeesAndReserve')).toEqual([]);
      expect(fakes.of('voidTreasuryHold')).toEqual([[purchaseId]]);
      expect(fakes.of('settleOnChain')).toEqual([]);
      expect(fakes.of('markPurchaseStatus').at(-1)?.slice(0, 2)).toEqual([purchaseId, PurchaseStatus.Disputed]);
    });
  });

  test('a compensation that throws is recorded and alerted, the next one still runs, and the run ends failed', async () => {
    const fakes = fakeActivities(2500n, {
      settleOnChain: (input) => rejectedAtSettlement(input.purchaseId),
      voidTreasuryHold: (purchaseId) => Promise.reject(new DomainError(ErrorType.NotFound, `no pending hold for ${purchaseId}`)),
    });
    await scenario(fakes, { ...basePolicy, autoRefundOnFailure: true }, async (started, purchaseId) => {
      const handle = await started;
      await expect(handle.result()).resolves.toEqual({ purchaseId, status: PurchaseStatus.Failed, txId: null });

      expect(fakes.of('raiseAlert')).toEqual([
        [
          {
            dedupeKey: `purchase:${purchaseId}:compensation:voidTreasuryHold`,
            severity: 'critical',
            kind: 'compensation_failed',
            message: `compensation voidTreasuryHold failed for ${purchaseId}`,
          },
        ],
      ]);
      // the failed void is not retried (not_found is non-retryable) and does not stop the refund
      expect(fakes.of('voidTreasuryHold')).toEqual([[purchaseId]]);
      expect(fakes.of('refundPayment')).toEqual([[purchaseId]]);
      const failure = { type: ErrorType.SettlementRejected, message: `the chain refused the settlement of ${purchaseId}` };
      expect(fakes.of('markPurchaseStatus').at(-1)).toEqual([purchaseId, PurchaseStatus.Failed, failure]);

      const state = await handle.query(statusQuery);
      expect(state).toMatchObject({ status: PurchaseStatus.Failed, waitingFor: null, lastError: failure });
      expect(state.compensations).toEqual([
        // the activity's own typed failure, not the wrapper's "Activity task failed"
        { name: 'voidTreasuryHold', ok: false, error: `${ErrorType.NotFound}: no pending hold for ${purchaseId}` },
        { name: 'refundPayment', ok: true },
      ]);
      expect((await handle.describe()).status.name).toBe('COMPLETED');
    });
  });
});
