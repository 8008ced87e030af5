/**
 * The baseline: the purchase workflow's shape, with nothing inside. Nine activities in the order a
 * purchase below the approval threshold runs them, six search-attribute upserts where it makes
 * them, the same activity options (timeouts, retry policies) per step. It is FIXED on purpose:
 * when purchase steps get merged later, the purchase throughput moves and this one does not, so
 * the ratio between them shows the gain. Do not change it to follow the purchase workflow.
 */
import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES } from '../../src/shared/errors';
import { SA } from '../../src/shared/search-attributes';
import { PurchaseStatus, Rail } from '../../src/shared/status';
import type { BaselineActivities } from './activities';

const nonRetryableErrorTypes = [...NON_RETRYABLE_ERROR_TYPES];

const db = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes },
});
const stripeFee = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '20 seconds',
  heartbeatTimeout: '5 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 12, nonRetryableErrorTypes },
});
const chain = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '90 seconds',
  heartbeatTimeout: '5 seconds',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: [...nonRetryableErrorTypes, ErrorType.InsufficientTreasury],
  },
});

export interface BaselineInput {
  id: string;
}

export async function baselineWorkflow({ id }: BaselineInput): Promise<string> {
  const status = (value: string) => upsertSearchAttributes([{ key: SA.PurchaseStatus, value }]);
  await db.loadPurchase(id); // 1
  upsertSearchAttributes([
    { key: SA.PurchaseId, value: id },
    { key: SA.ProductId, value: 'baseline' },
    { key: SA.SettlementRail, value: Rail.Solana },
    { key: SA.BuyerWallet, value: 'baseline' },
    { key: SA.GrossCents, value: 0 },
  ]); // upsert 1
  status(PurchaseStatus.Paid); // upsert 2
  await db.markPurchaseStatus(id); // 2
  await stripeFee.captureStripeFee(id); // 3
  await db.recordFees(id); // 4
  status(PurchaseStatus.FeeCaptured); // upsert 3
  await db.reserveTreasury(id); // 5
  status(PurchaseStatus.TreasuryReserved); // upsert 4
  await db.markPurchaseStatus(id); // 6
  status(PurchaseStatus.Settling); // upsert 5
  await db.markPurchaseStatus(id); // 7
  await chain.settleOnChain(id); // 8
  await db.recordSettlement(id); // 9
  status(PurchaseStatus.Settled); // upsert 6
  return id;
}
