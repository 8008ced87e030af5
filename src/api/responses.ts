/**
 * Response bodies as zod schemas. The OpenAPI document (src/api/openapi.ts) is generated from these,
 * and the fuzzer test validates every response against it, so a field that is not declared here
 * cannot be served. Objects are strict: an undeclared field is a failure, not a silent extra.
 */
import { z } from 'zod';
import { ErrorType } from '../shared/errors';
import { APPROVAL_REASONS } from '../shared/risk';
import { PURCHASE_STATUSES, RAILS } from '../shared/status';

const isoTime = z.iso.datetime();
const nullableIso = isoTime.nullable();
/** Money out: a decimal string of a non-negative integer (cents, micro-USDC or micro-USD). */
const amount = z.string().regex(/^(0|[1-9]\d*)$/);
const rail = z.enum(RAILS);
const health = z.enum(['healthy', 'warning', 'critical']);
const approvalReason = z.enum(APPROVAL_REASONS);

export const errorBody = z
  .strictObject({
    error: z.strictObject({
      type: z.enum(Object.values(ErrorType) as [ErrorType, ...ErrorType[]]),
      message: z.string(),
      /** validation issues ({ path, message }[]) or other context */
      details: z.unknown().optional(),
    }),
  })
  .meta({ description: 'Every error: a stable `type` and a human-readable `message`.' });

const collaboratorOut = z.strictObject({ wallet: z.string(), role: z.string(), shareBps: z.number().int() });

export const productOut = z.strictObject({
  id: z.string(),
  title: z.string(),
  priceCents: amount,
  currency: z.string(),
  rail,
  nftSymbol: z.string(),
  nftUri: z.string().meta({ description: 'empty when the product has none' }),
  collaborators: z.array(collaboratorOut),
  createdAt: isoTime,
});
export const productList = z.strictObject({ products: z.array(productOut) });

export const checkoutSessionOut = z.strictObject({ purchaseId: z.string(), checkoutSessionId: z.string(), checkoutUrl: z.string() });

export const purchaseOut = z.strictObject({
  purchaseId: z.string(),
  productId: z.string(),
  status: z.enum(PURCHASE_STATUSES),
  grossCents: amount.nullable(),
  stripeFeeCents: amount.nullable(),
  netCents: amount.nullable(),
  platformFeeCents: amount.nullable(),
  creatorPoolMicroUsdc: amount.nullable(),
  payouts: z.array(
    z.strictObject({ wallet: z.string(), role: z.string(), shareBps: z.number().int(), amountMicroUsdc: amount.nullable() }),
  ),
  settlement: z.strictObject({
    rail,
    txId: z.string().nullable().meta({ description: 'Solana signature or EVM transaction hash' }),
    nftId: z.string().nullable().meta({ description: 'Solana mint address or EVM token id' }),
  }),
  failure: z.strictObject({ type: z.string(), message: z.string().nullable() }).nullable(),
  approvalReason: approvalReason
    .nullable()
    .meta({ description: 'while `awaiting_approval`: the risk limit it went over, or `approval_threshold`' }),
  updatedAt: isoTime,
});

export const subscriptionCheckoutOut = z.strictObject({
  checkoutSessionId: z.string(),
  checkoutUrl: z.string(),
  trialOffered: z.boolean(),
  trialDays: z.number().int(),
  trialRefusedReason: z.string().optional(),
});

export const subscriptionStatusOut = z.strictObject({
  customerId: z.string(),
  valid: z.boolean(),
  trialUsed: z.boolean(),
  subscriptions: z.array(
    z.strictObject({
      subscriptionId: z.string(),
      status: z.string(),
      valid: z.boolean(),
      trialEnd: nullableIso,
      currentPeriodEnd: nullableIso,
      cancelAtPeriodEnd: z.boolean(),
    }),
  ),
  asOf: isoTime,
});

export const webhookAck = z.strictObject({
  received: z.literal(true),
  outcome: z.enum(['queued', 'duplicate']).meta({
    description:
      '`queued`: stored, and the run is started or signalled right after (the outcome of acting on it is recorded with the event); `duplicate`: an earlier delivery was already acted on',
  }),
});

export const healthOut = z.strictObject({ status: z.literal('ok') });
export const readinessOut = z.strictObject({
  status: z.enum(['ready', 'not_ready']),
  checks: z.record(z.string(), z.string()).meta({ description: "each check's result: `ok` or why it failed" }),
});

const periodStats = {
  purchaseCount: z.number().int(),
  frontedMicroUsdc: amount,
  platformFeesCents: amount,
  stripeFeesCents: amount,
  netToReplenishCents: z.string().regex(/^-?(0|[1-9]\d*)$/),
};

const reconciliationOut = z.strictObject({
  id: z.string(),
  periodStart: isoTime,
  periodEnd: isoTime,
  ...periodStats,
  ledgerTreasuryMicroUsdc: z.string(),
  chainTreasuryMicroUsdc: z.string(),
  openHoldsMicroUsdc: z.string(),
  runwayDays: z.number().int().nullable(),
  health,
  staleHolds: z.unknown(),
  createdAt: isoTime,
  discrepancies: z.array(z.strictObject({ kind: z.string(), reference: z.string(), expected: z.string(), actual: z.string() })),
});

export const treasuryOverviewOut = z.strictObject({
  asOf: isoTime,
  balanceMicroUsdc: z.string(),
  openHoldsMicroUsdc: z.string(),
  availableMicroUsdc: z.string(),
  accounts: z.array(
    z.strictObject({
      rail: z.string(),
      account: z.string(),
      balanceMicroUsdc: z.string(),
      openHoldsMicroUsdc: z.string(),
      availableMicroUsdc: z.string(),
    }),
  ),
  runwayDays: z.number().int().nullable(),
  health,
  thresholds: z.strictObject({ warningBalanceCents: amount, runwayWarningDays: z.number().int() }),
  staleHoldCount: z.number().int(),
  weeklyStats: z.strictObject({ periodStart: isoTime, periodEnd: isoTime, ...periodStats }),
  lastReconciliation: reconciliationOut.nullable(),
});

export const replenishedOut = z.strictObject({ recorded: z.boolean(), signalled: z.number().int() });

const pauseState = {
  paused: z.boolean(),
  reason: z.string().nullable(),
  actor: z.string().nullable(),
  changedAt: nullableIso.meta({ description: 'when the switch last changed; null when it never has' }),
};
export const settlementStateOut = z.strictObject({
  ...pauseState,
  pausedPurchases: z.number().int().meta({ description: 'purchase runs waiting at the pivot (`paused`)' }),
});
export const settlementPauseOut = z.strictObject({
  ...pauseState,
  alreadyApplied: z.boolean().meta({ description: 'true when the switch was already in this position (nothing changed)' }),
  settling: z.array(z.string()).meta({ description: 'purchases already sending when the pause took effect: they finish' }),
});
export const settlementResumeOut = z.strictObject({
  ...pauseState,
  alreadyApplied: z.boolean().meta({ description: 'true when settlement was not paused' }),
  signalled: z.array(z.string()).meta({ description: 'purchases whose waiting runs were signalled to go on, oldest first' }),
});

const pendingActivity = z.strictObject({
  activityType: z.string(),
  state: z.string(),
  attempt: z.number().int(),
  maximumAttempts: z.number().int(),
  lastFailure: z.string().nullable(),
  lastStartedAt: nullableIso,
  nextAttemptAt: nullableIso,
});

const purchaseContext = z.strictObject({
  purchaseId: z.string(),
  productId: z.string(),
  productTitle: z.string().nullable(),
  status: z.string(),
  rail: z.string(),
  buyerWallet: z.string(),
  grossCents: amount.nullable(),
  failureType: z.string().nullable(),
  failureMessage: z.string().nullable(),
  settlementTxId: z.string().nullable(),
  approvalReason: approvalReason.nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
});

export const workflowRowOut = z.strictObject({
  workflowId: z.string(),
  runId: z.string(),
  workflowType: z.string(),
  executionStatus: z.string(),
  purchaseStatus: z.string().nullable(),
  startTime: isoTime,
  closeTime: nullableIso,
  lastProgressAt: nullableIso,
  historyLength: z.number().int(),
  pendingActivities: z.array(pendingActivity),
  pendingWorkflowTaskAttempt: z.number().int().nullable(),
  lastFailure: z.string().nullable(),
  problems: z.array(z.string()).nullable(),
  stuckReasons: z.array(z.string()),
  purchase: purchaseContext.nullable(),
  temporalUiUrl: z.string(),
});

export const workflowListOut = z.strictObject({
  state: z.enum(['stuck', 'awaiting', 'failed']),
  count: z.number().int(),
  workflows: z.array(workflowRowOut),
});

export const actionResultOut = z.strictObject({
  workflowId: z.string(),
  action: z.string(),
  alreadyApplied: z.boolean().meta({ description: 'true when repeating an action that already took effect' }),
  runId: z.string().optional(),
  newRunId: z.string().optional(),
  detail: z.string().optional(),
});
export const purchaseActionOut = actionResultOut.extend({ purchaseId: z.string() });

export const batchResetOut = z.strictObject({
  query: z.string(),
  dryRun: z.boolean(),
  targets: z.array(z.strictObject({ workflowId: z.string(), runId: z.string(), purchaseStatus: z.string().nullable() })),
  results: z.array(
    z.union([
      z.strictObject({ workflowId: z.string(), ok: z.literal(true), newRunId: z.string().optional(), alreadyApplied: z.boolean() }),
      z.strictObject({ workflowId: z.string(), ok: z.literal(false), error: z.string() }),
    ]),
  ),
});

export const schedulesOut = z.strictObject({
  schedules: z.array(
    z.union([
      z.strictObject({
        scheduleId: z.string(),
        paused: z.boolean(),
        overlap: z.string(),
        nextActionTimes: z.array(isoTime),
        recentActions: z.array(z.strictObject({ scheduledAt: isoTime, takenAt: isoTime, workflowId: z.string() })),
      }),
      z.strictObject({ scheduleId: z.string(), missing: z.literal(true) }),
    ]),
  ),
});
export const scheduleTriggeredOut = z.strictObject({ scheduleId: z.string(), triggeredAt: isoTime });

export const auditListOut = z.strictObject({
  count: z.number().int(),
  entries: z.array(
    z.strictObject({
      id: z.string(),
      actor: z.string(),
      action: z.string(),
      target: z.string(),
      reason: z.string().nullable(),
      result: z.string(),
      flagged: z.boolean(),
      details: z.unknown(),
      createdAt: isoTime,
    }),
  ),
  nextBefore: z.string().optional(),
});

export const dashboardOut = z.strictObject({
  treasury: treasuryOverviewOut,
  recentPurchases: z.array(
    z.strictObject({
      purchaseId: z.string(),
      status: z.string(),
      grossCents: amount.nullable(),
      rail: z.string(),
      updatedAt: isoTime,
      temporalUiUrl: z.string(),
    }),
  ),
  stuck: z.array(workflowRowOut),
  awaiting: z.array(workflowRowOut),
});
