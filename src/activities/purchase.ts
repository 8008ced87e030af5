/** Activities over PostgreSQL and the chains for the purchase saga. Dependencies are injected. */
import type { Logger } from 'pino';
import type { SettlementRail } from '../chains/rail';
import type { Db } from '../db/client';
import { reserveTreasuryHold, voidTreasuryHold, type ReserveInput, type ReserveOutcome } from '../db/ledger';
import { NO_RISK_LIMITS, type RiskLimits } from '../db/risk-limits';
import { enterSettlement } from '../db/settlement-pause';
import {
  createSettlementJournal,
  findSettledAmounts,
  loadPurchaseForSettlement,
  recordClawback,
  recordFees,
  recordFeesAndReserve,
  recordSettlement,
  setPurchaseStatus,
} from '../db/purchases';
import { DomainError, ErrorType } from '../shared/errors';
import { assertValidShares, type FeeBreakdown } from '../shared/money';
import type { RiskReason } from '../shared/risk';
import { PurchaseStatus, type Rail } from '../shared/status';
import { withHeartbeat } from './heartbeat';

export interface PurchaseActivityDeps {
  db: Db;
  rails: Partial<Record<Rail, SettlementRail>>;
  holdTtlMs: number;
  logger: Logger;
  now?: () => Date;
  /** creator webhook endpoints (CREATOR_WEBHOOK_URLS): each settled payout is announced to every one */
  creatorWebhookUrls?: readonly string[];
  /** the RISK_* limits checked with each treasury reservation; none when unset */
  riskLimits?: RiskLimits;
}

export interface SettlementPlan {
  purchaseId: string;
  productId: string;
  rail: Rail;
  buyerWallet: string;
  expectedGrossCents: string;
  nft: { name: string; symbol: string; uri: string };
  collaborators: { position: number; wallet: string; role: string; shareBps: number }[];
}

export interface PayoutInput {
  position: number;
  wallet: string;
  role: string;
  shareBps: number;
  amountMicroUsdc: string;
}

/** A treasury reservation's answer, as the workflow sees it. */
export interface ReserveAnswer {
  reserved: boolean;
  availableMicroUsdc: string;
  riskReason?: RiskReason;
}

function reserveAnswer(res: ReserveOutcome): ReserveAnswer {
  if (res.outcome !== 'reserved') return { reserved: false, availableMicroUsdc: res.position.availableMicro.toString() };
  return {
    reserved: true,
    availableMicroUsdc: res.position.availableMicro.toString(),
    ...(res.riskReason ? { riskReason: res.riskReason } : {}),
  };
}

function feeBreakdownOf(f: Record<keyof FeeBreakdown, string>): FeeBreakdown {
  return {
    grossCents: BigInt(f.grossCents),
    stripeFeeCents: BigInt(f.stripeFeeCents),
    netCents: BigInt(f.netCents),
    platformFeeCents: BigInt(f.platformFeeCents),
    creatorPoolCents: BigInt(f.creatorPoolCents),
    creatorPoolMicroUsdc: BigInt(f.creatorPoolMicroUsdc),
  };
}

export function createPurchaseActivities({
  db,
  rails,
  holdTtlMs,
  logger,
  now = () => new Date(),
  creatorWebhookUrls = [],
  riskLimits = NO_RISK_LIMITS,
}: PurchaseActivityDeps) {
  const journal = createSettlementJournal(db);
  const railFor = (rail: Rail): SettlementRail => {
    const r = rails[rail];
    if (!r) throw new DomainError(ErrorType.ValidationFailed, `settlement rail ${rail} is not configured on this worker`);
    return r;
  };

  /** The hold a purchase asks the treasury for: its pool, the hold's TTL from now, the risk limits. */
  function holdFor(purchaseId: string, rail: Rail, amountMicroUsdc: string): ReserveInput {
    const at = now();
    return {
      purchaseId,
      rail,
      amountMicro: BigInt(amountMicroUsdc),
      expiresAt: new Date(at.getTime() + holdTtlMs),
      now: at,
      limits: riskLimits,
    };
  }

  async function loadPlan(purchaseId: string): Promise<SettlementPlan> {
    const p = await loadPurchaseForSettlement(db, purchaseId);
    const rail = p.rail as Rail;
    const chain = railFor(rail);
    assertValidShares(p.product.collaborators);
    if (!chain.isValidWallet(p.buyerWallet)) throw new DomainError(ErrorType.InvalidWallet, `buyer wallet is not a valid ${rail} address`);
    for (const c of p.product.collaborators) {
      if (!chain.isValidWallet(c.wallet))
        throw new DomainError(ErrorType.InvalidWallet, `collaborator ${c.position} wallet is not a valid ${rail} address`);
    }
    return {
      purchaseId: p.id,
      productId: p.productId,
      rail,
      buyerWallet: p.buyerWallet,
      expectedGrossCents: (p.grossCents ?? p.product.priceCents).toString(),
      nft: { name: p.product.title.slice(0, 32), symbol: p.product.nftSymbol, uri: p.product.nftUri },
      collaborators: p.product.collaborators.map((c) => ({ position: c.position, wallet: c.wallet, role: c.role, shareBps: c.shareBps })),
    };
  }

  return {
    /** Step 1 of a purchase: read and validate; bad data is a non-retryable typed failure. */
    loadPurchase: loadPlan,

    /** Step 1 with its status: read and validate, then mark the purchase paid. */
    async beginPurchase(purchaseId: string): Promise<SettlementPlan> {
      const plan = await loadPlan(purchaseId);
      await setPurchaseStatus(db, purchaseId, PurchaseStatus.Paid);
      return plan;
    },

    async markPurchaseStatus(purchaseId: string, status: PurchaseStatus, failure?: { type: string; message: string }): Promise<void> {
      await setPurchaseStatus(
        db,
        purchaseId,
        status,
        failure ? { failureType: failure.type, failureMessage: failure.message.slice(0, 500) } : {},
      );
    },

    async recordFees(input: {
      purchaseId: string;
      paymentIntentId: string;
      chargeId: string;
      fees: Record<keyof FeeBreakdown, string>;
    }): Promise<void> {
      await recordFees(db, input.purchaseId, feeBreakdownOf(input.fees), {
        paymentIntentId: input.paymentIntentId,
        chargeId: input.chargeId,
      });
    },

    /**
     * Steps 2-4 as one: book the fees, then the atomic availability check of step 4 with the risk
     * limits, and the purchase's status (`treasury_reserved` or `awaiting_treasury`), in one
     * database transaction. `riskReason` says the hold went over a limit and the purchase waits for approval.
     */
    async recordFeesAndReserve(input: {
      purchaseId: string;
      paymentIntentId: string;
      chargeId: string;
      fees: Record<keyof FeeBreakdown, string>;
      rail: Rail;
    }): Promise<ReserveAnswer> {
      const res = await recordFeesAndReserve(db, {
        fees: feeBreakdownOf(input.fees),
        refs: { paymentIntentId: input.paymentIntentId, chargeId: input.chargeId },
        hold: holdFor(input.purchaseId, input.rail, input.fees.creatorPoolMicroUsdc),
      });
      return reserveAnswer(res);
    },

    /**
     * The atomic availability check of step 4 (front from the treasury), with the risk limits in the
     * same transaction: `riskReason` says the hold went over one and the purchase waits for approval.
     */
    async reserveTreasury(input: { purchaseId: string; rail: Rail; amountMicroUsdc: string }): Promise<ReserveAnswer> {
      return reserveAnswer(await reserveTreasuryHold(db, holdFor(input.purchaseId, input.rail, input.amountMicroUsdc)));
    },

    /** The gate before the pivot: `entered` marks the purchase settling; false while the emergency pause is on (marked paused). */
    async enterSettlement(purchaseId: string): Promise<{ entered: boolean }> {
      return enterSettlement(db, purchaseId);
    },

    async voidTreasuryHold(purchaseId: string): Promise<string> {
      return voidTreasuryHold(db, purchaseId);
    },

    /** The pivot: one atomic transaction on the purchase's rail, at most once per purchase. */
    async settleOnChain(input: {
      purchaseId: string;
      rail: Rail;
      buyerWallet: string;
      nft: { name: string; symbol: string; uri: string };
      payouts: PayoutInput[];
    }): Promise<{ txId: string; nftId: string; alreadySettled: boolean }> {
      // Sending and confirming can take a minute: heartbeat so a dead worker is noticed in seconds.
      const result = await withHeartbeat(() =>
        railFor(input.rail).settle(
          {
            purchaseId: input.purchaseId,
            buyerWallet: input.buyerWallet,
            nft: input.nft,
            payouts: input.payouts.map((p) => ({ wallet: p.wallet, amountMicroUsdc: BigInt(p.amountMicroUsdc) })),
          },
          journal,
        ),
      );
      logger.info({ purchaseId: input.purchaseId, txId: result.txId, alreadySettled: result.alreadySettled }, 'settled on chain');
      return result;
    },

    async recordSettlement(input: {
      purchaseId: string;
      rail: Rail;
      txId: string;
      nftId: string;
      grossCents: string;
      stripeFeeCents: string;
      creatorPoolMicroUsdc: string;
      payouts: PayoutInput[];
    }): Promise<void> {
      await recordSettlement(
        db,
        {
          purchaseId: input.purchaseId,
          rail: input.rail,
          txId: input.txId,
          nftId: input.nftId,
          grossCents: BigInt(input.grossCents),
          stripeFeeCents: BigInt(input.stripeFeeCents),
          creatorPoolMicroUsdc: BigInt(input.creatorPoolMicroUsdc),
          payouts: input.payouts.map((p) => ({ ...p, amountMicroUsdc: BigInt(p.amountMicroUsdc) })),
        },
        creatorWebhookUrls,
      );
    },

    async loadSettledAmounts(purchaseId: string): Promise<{ grossCents: string; creatorPoolMicroUsdc: string } | null> {
      const p = await findSettledAmounts(db, purchaseId);
      return p && { grossCents: p.grossCents.toString(), creatorPoolMicroUsdc: p.creatorPoolMicroUsdc.toString() };
    },

    async recordClawback(input: {
      purchaseId: string;
      reason: 'refunded' | 'disputed';
      grossCents: string;
      creatorPoolMicroUsdc: string;
    }): Promise<void> {
      await recordClawback(db, {
        purchaseId: input.purchaseId,
        reason: input.reason,
        grossCents: BigInt(input.grossCents),
        creatorPoolMicroUsdc: BigInt(input.creatorPoolMicroUsdc),
      });
    },
  };
}
