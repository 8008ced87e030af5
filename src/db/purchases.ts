/** Products, purchases and the purchase read model: Prisma access for the catalogue and checkout. */
import type { SettlementAttempt, SettlementJournal } from '../chains/rail';
import { z } from 'zod';
import { DomainError, ErrorType } from '../shared/errors';
import type { FeeBreakdown } from '../shared/money';
import { ApprovalReason, isRiskReason, RISK_REASONS } from '../shared/risk';
import { PurchaseStatus, type Rail } from '../shared/status';
import { preparedQuery, type Db, type PreparedStatement } from './client';
import { newId } from './ids';
import { queuePayoutNotifications } from './notifications';
import {
  postJournal,
  postTreasuryHold,
  reserveTreasuryHoldIn,
  settlementJournalLines,
  clawbackJournalLines,
  type ReserveInput,
  type ReserveOutcome,
} from './ledger';

interface CollaboratorInput {
  wallet: string;
  role: string;
  shareBps: number;
}

export interface ProductInput {
  title: string;
  priceCents: bigint;
  currency: string;
  rail: Rail;
  nftSymbol?: string;
  nftUri?: string;
  collaborators: readonly CollaboratorInput[];
}

export async function createProduct(db: Db, input: ProductInput) {
  const id = newId('prod');
  return db.product.create({
    data: {
      id,
      title: input.title,
      priceCents: input.priceCents,
      currency: input.currency,
      rail: input.rail,
      nftSymbol: input.nftSymbol ?? 'RCPT',
      nftUri: input.nftUri ?? '',
      collaborators: {
        create: input.collaborators.map((c, position) => ({
          id: newId('collab'),
          position,
          wallet: c.wallet,
          role: c.role,
          shareBps: c.shareBps,
        })),
      },
    },
    include: { collaborators: { orderBy: { position: 'asc' } } },
  });
}

export const listProducts = (db: Db) =>
  db.product.findMany({ orderBy: { createdAt: 'desc' }, include: { collaborators: { orderBy: { position: 'asc' } } }, take: 200 });

export const findProduct = (db: Db, id: string) =>
  db.product.findUnique({ where: { id }, include: { collaborators: { orderBy: { position: 'asc' } } } });

export async function createPendingPurchase(
  db: Db,
  input: { id: string; productId: string; buyerWallet: string; rail: Rail; grossCents: bigint; checkoutSessionId: string },
) {
  return db.purchase.create({
    data: {
      id: input.id,
      productId: input.productId,
      buyerWallet: input.buyerWallet,
      rail: input.rail,
      status: PurchaseStatus.PendingPayment,
      grossCents: input.grossCents,
      checkoutSessionId: input.checkoutSessionId,
    },
  });
}

const collaboratorRows = z.array(
  z.object({ position: z.number().int(), wallet: z.string(), role: z.string(), shareBps: z.number().int() }).strict(),
);

export interface PurchaseForSettlement {
  id: string;
  productId: string;
  buyerWallet: string;
  rail: string;
  grossCents: bigint | null;
  product: {
    title: string;
    priceCents: bigint;
    nftSymbol: string;
    nftUri: string;
    collaborators: z.infer<typeof collaboratorRows>;
  };
}

/** The purchase with its product and the product's collaborators in position order, in one statement. */
export async function loadPurchaseForSettlement(db: Db, purchaseId: string): Promise<PurchaseForSettlement> {
  const rows = await db.$queryRaw<
    (Omit<PurchaseForSettlement, 'product'> & Omit<PurchaseForSettlement['product'], 'collaborators'> & { collaborators: string })[]
  >`
    SELECT p.id, p."productId", p."buyerWallet", p.rail, p."grossCents", pr.title, pr."priceCents", pr."nftSymbol", pr."nftUri",
      COALESCE(
        (SELECT json_agg(json_build_object('position', c.position, 'wallet', c.wallet, 'role', c.role, 'shareBps', c."shareBps") ORDER BY c.position)
           FROM "Collaborator" c WHERE c."productId" = p."productId"),
        '[]'::json)::text AS collaborators
    FROM "Purchase" p JOIN "Product" pr ON pr.id = p."productId"
    WHERE p.id = ${purchaseId}`;
  const row = rows[0];
  if (!row) throw new DomainError(ErrorType.NotFound, `purchase ${purchaseId} not found`);
  const { title, priceCents, nftSymbol, nftUri, collaborators, ...purchase } = row;
  return {
    ...purchase,
    product: { title, priceCents, nftSymbol, nftUri, collaborators: collaboratorRows.parse(JSON.parse(collaborators)) },
  };
}

/** Status changes bump `version`, which the status endpoint uses as its ETag. */
export async function setPurchaseStatus(
  db: Db,
  purchaseId: string,
  status: PurchaseStatus,
  extra: { failureType?: string; failureMessage?: string; paymentIntentId?: string; chargeId?: string } = {},
): Promise<void> {
  await db.purchase.update({ where: { id: purchaseId }, data: { status, ...extra, version: { increment: 1 } } });
}

const feeColumns = (fees: FeeBreakdown, refs: { paymentIntentId: string; chargeId: string }) => ({
  grossCents: fees.grossCents,
  stripeFeeCents: fees.stripeFeeCents,
  netCents: fees.netCents,
  platformFeeCents: fees.platformFeeCents,
  creatorPoolMicroUsdc: fees.creatorPoolMicroUsdc,
  paymentIntentId: refs.paymentIntentId,
  chargeId: refs.chargeId,
});

export async function recordFees(db: Db, purchaseId: string, fees: FeeBreakdown, refs: { paymentIntentId: string; chargeId: string }) {
  await db.purchase.update({
    where: { id: purchaseId },
    data: { status: PurchaseStatus.FeeCaptured, ...feeColumns(fees, refs), version: { increment: 1 } },
  });
}

/**
 * Steps 2-4 in one database transaction: book the captured fees, reserve the treasury hold, and
 * mark the purchase `treasury_reserved`, or `awaiting_treasury` when the treasury cannot cover it.
 * Safe to repeat: the fees are the same, and a repeat answers the hold already made.
 */
export async function recordFeesAndReserve(
  db: Db,
  input: { fees: FeeBreakdown; refs: { paymentIntentId: string; chargeId: string }; hold: ReserveInput },
): Promise<ReserveOutcome> {
  return db.$transaction(async (tx) => {
    const outcome = await reserveTreasuryHoldIn(tx, input.hold);
    const status = outcome.outcome === 'reserved' ? PurchaseStatus.TreasuryReserved : PurchaseStatus.AwaitingTreasury;
    await tx.purchase.update({
      where: { id: input.hold.purchaseId },
      data: { status, ...feeColumns(input.fees, input.refs), version: { increment: 1 } },
    });
    return outcome;
  });
}

export interface PayoutRecord {
  position: number;
  wallet: string;
  role: string;
  shareBps: number;
  amountMicroUsdc: bigint;
}

/**
 * Step 6, after the pivot: post the hold, write the ledger and one CollaboratorPayment per payout,
 * and mark the purchase settled, all in one database transaction. Safe to repeat.
 */
export async function recordSettlement(
  db: Db,
  input: {
    purchaseId: string;
    rail: Rail;
    txId: string;
    nftId: string;
    grossCents: bigint;
    stripeFeeCents: bigint;
    creatorPoolMicroUsdc: bigint;
    payouts: readonly PayoutRecord[];
  },
  /** creator webhook endpoints: a `payout.settled` notification per payout and endpoint, in the same transaction */
  notifyEndpoints: readonly string[] = [],
): Promise<void> {
  await db.$transaction(async (tx) => {
    if (notifyEndpoints.length > 0) {
      const purchase = await tx.purchase.findUniqueOrThrow({ where: { id: input.purchaseId }, select: { productId: true } });
      await queuePayoutNotifications(
        tx,
        notifyEndpoints,
        input.payouts.map((p) => ({
          purchaseId: input.purchaseId,
          productId: purchase.productId,
          position: p.position,
          wallet: p.wallet,
          role: p.role,
          shareBps: p.shareBps,
          amountMicroUsdc: p.amountMicroUsdc.toString(),
          rail: input.rail,
          txId: input.txId,
        })),
        new Date(),
      );
    }
    await postTreasuryHold(tx, input.purchaseId);
    await postJournal(tx, {
      idempotencyKey: `purchase:${input.purchaseId}:record`,
      kind: 'purchase_settled',
      purchaseId: input.purchaseId,
      memo: `tx ${input.txId}`,
      lines: settlementJournalLines(input),
    });
    await tx.collaboratorPayment.createMany({
      data: input.payouts.map((p) => ({
        id: newId('cpay'),
        purchaseId: input.purchaseId,
        position: p.position,
        wallet: p.wallet,
        role: p.role,
        shareBps: p.shareBps,
        amountMicroUsdc: p.amountMicroUsdc,
        rail: input.rail,
        txId: input.txId,
      })),
      skipDuplicates: true,
    });
    await tx.purchase.update({
      where: { id: input.purchaseId },
      data: { status: PurchaseStatus.Settled, settlementTxId: input.txId, nftId: input.nftId, version: { increment: 1 } },
    });
  });
}

export async function recordClawback(
  db: Db,
  input: { purchaseId: string; reason: 'refunded' | 'disputed'; grossCents: bigint; creatorPoolMicroUsdc: bigint },
) {
  await db.$transaction(async (tx) => {
    await postJournal(tx, {
      idempotencyKey: `purchase:${input.purchaseId}:clawback`,
      kind: 'purchase_clawback',
      purchaseId: input.purchaseId,
      memo: input.reason,
      lines: clawbackJournalLines(input),
    });
    await tx.purchase.update({ where: { id: input.purchaseId }, data: { status: input.reason, version: { increment: 1 } } });
  });
}

/** The settlement journal of docs/architecture.md §4, backed by the SettlementAttempt table. */
export function createSettlementJournal(db: Db): SettlementJournal {
  return {
    async recordAttempt(attempt) {
      // One INSERT … ON CONFLICT DO NOTHING: a repeat of the same signature keeps the first row.
      await db.settlementAttempt.createMany({
        data: [
          {
            txId: attempt.txId,
            purchaseId: attempt.purchaseId,
            validUntil: attempt.validUntil,
            ...(attempt.signedTx ? { signedTx: Buffer.from(attempt.signedTx) } : {}),
          },
        ],
        skipDuplicates: true,
      });
    },
    async attempts(purchaseId): Promise<SettlementAttempt[]> {
      const rows = await db.settlementAttempt.findMany({ where: { purchaseId }, orderBy: { createdAt: 'asc' } });
      return rows.map((r) => ({
        purchaseId: r.purchaseId,
        txId: r.txId,
        validUntil: r.validUntil,
        createdAt: r.createdAt,
        ...(r.signedTx ? { signedTx: new Uint8Array(r.signedTx) } : {}),
      }));
    },
  };
}

const PURCHASE_VIEW: PreparedStatement = {
  name: 'purchase_view_v1',
  text: `
    SELECT p.version, json_build_object(
      'purchaseId', p.id,
      'productId', p."productId",
      'status', p.status,
      'grossCents', p."grossCents"::text,
      'stripeFeeCents', p."stripeFeeCents"::text,
      'netCents', p."netCents"::text,
      'platformFeeCents', p."platformFeeCents"::text,
      'creatorPoolMicroUsdc', p."creatorPoolMicroUsdc"::text,
      'payouts', COALESCE(
        (SELECT json_agg(json_build_object('wallet', x.wallet, 'role', x.role, 'shareBps', x."shareBps", 'amountMicroUsdc', x."amountMicroUsdc"::text) ORDER BY x.position)
           FROM "CollaboratorPayment" x WHERE x."purchaseId" = p.id),
        (SELECT json_agg(json_build_object('wallet', c.wallet, 'role', c.role, 'shareBps', c."shareBps", 'amountMicroUsdc', NULL) ORDER BY c.position)
           FROM "Collaborator" c WHERE c."productId" = p."productId"),
        '[]'::json),
      'settlement', json_build_object('rail', p.rail, 'txId', p."settlementTxId", 'nftId', p."nftId"),
      'failure', CASE WHEN p."failureType" IS NULL THEN NULL ELSE json_build_object('type', p."failureType", 'message', p."failureMessage") END,
      'approvalReason', CASE WHEN p.status <> $2::text THEN NULL
        ELSE COALESCE((SELECT h."riskReason" FROM "TreasuryHold" h WHERE h."purchaseId" = p.id AND h."riskReason" = ANY($3::text[])), $4::text) END,
      'updatedAt', to_char(p."updatedAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    )::text AS json
    FROM "Purchase" p WHERE p.id = $1::text`,
};
const purchaseViewRow = z.object({ version: z.number().int(), json: z.string() });

/**
 * The polling frontend's read model (`GET /api/purchases/:id`): the purchase, its payouts (the payment
 * rows once settled, else the product's split without amounts) and why it waits for approval, as the
 * JSON text of the answer, built by PostgreSQL in one prepared statement. The hot read: one round
 * trip, no row objects in between, and no parse or plan per call.
 */
export async function purchaseView(db: Db, purchaseId: string): Promise<{ version: number; json: string } | undefined> {
  const rows = await preparedQuery(
    db,
    PURCHASE_VIEW,
    [purchaseId, PurchaseStatus.AwaitingApproval, RISK_REASONS, ApprovalReason.AboveThreshold],
    purchaseViewRow,
  );
  return rows[0];
}

/**
 * Why each of these purchases waits for approval, in order: the risk limit its treasury hold went
 * over, else the approval threshold; null for a purchase not in `awaiting_approval`.
 */
export async function findApprovalReasons(
  db: Db,
  purchases: readonly { id: string; status: string }[],
): Promise<(ApprovalReason | null)[]> {
  const waiting = purchases.filter((p) => p.status === PurchaseStatus.AwaitingApproval).map((p) => p.id);
  const holds =
    waiting.length === 0
      ? []
      : await db.treasuryHold.findMany({ where: { purchaseId: { in: waiting } }, select: { purchaseId: true, riskReason: true } });
  const risk = new Map(holds.map((h) => [h.purchaseId, h.riskReason]));
  return purchases.map((p) => {
    if (p.status !== PurchaseStatus.AwaitingApproval) return null;
    const r = risk.get(p.id);
    return isRiskReason(r) ? r : ApprovalReason.AboveThreshold;
  });
}

/** A purchase's status alone, for the operator actions' guards; undefined when there is no such purchase. */
export async function findPurchaseStatus(db: Db, purchaseId: string): Promise<string | undefined> {
  const p = await db.purchase.findUnique({ where: { id: purchaseId }, select: { status: true } });
  return p?.status;
}

/** The ids of the purchases in a status, oldest first. */
export async function findPurchaseIdsWithStatus(db: Db, status: PurchaseStatus, limit: number): Promise<string[]> {
  const rows = await db.purchase.findMany({ where: { status }, select: { id: true }, orderBy: { createdAt: 'asc' }, take: limit });
  return rows.map((r) => r.id);
}

/** The purchases behind a page of workflow runs, with their product's title. */
export async function findPurchasesWithProductTitle(db: Db, purchaseIds: readonly string[]) {
  if (purchaseIds.length === 0) return [];
  return db.purchase.findMany({ where: { id: { in: [...purchaseIds] } }, include: { product: { select: { title: true } } } });
}

/** The read model's version, which the status endpoint uses as its ETag. */
export async function purchaseVersion(db: Db, purchaseId: string): Promise<number | undefined> {
  return (await db.purchase.findUnique({ where: { id: purchaseId }, select: { version: true } }))?.version;
}

const FIND_PURCHASE_ID: PreparedStatement = { name: 'find_purchase_id_v1', text: `SELECT id FROM "Purchase" WHERE id = $1::text` };
// Schemas are built once: zod compiles an object schema's parser on its first parse.
const purchaseIdRow = z.object({ id: z.string() });

/** Whether the purchase exists (its id, or undefined). Prepared: once per payment webhook. */
export async function findPurchaseId(db: Db, purchaseId: string): Promise<string | undefined> {
  return (await preparedQuery(db, FIND_PURCHASE_ID, [purchaseId], purchaseIdRow))[0]?.id;
}

export async function findPurchaseIdByPaymentIntent(db: Db, paymentIntentId: string): Promise<string | undefined> {
  return (await db.purchase.findUnique({ where: { paymentIntentId }, select: { id: true } }))?.id;
}

const ATTACH_PAYMENT_INTENT: PreparedStatement = {
  name: 'attach_payment_intent_v2',
  text: `
    WITH attached AS (
      UPDATE "Purchase" SET "paymentIntentId" = $2::text, "updatedAt" = now() AT TIME ZONE 'UTC'
      WHERE id = $1::text AND "paymentIntentId" IS NULL
    )
    SELECT id FROM "Purchase" WHERE id = $1::text`,
};

/**
 * Ties the PaymentIntent to the purchase, once: a later event never replaces it. Returns the
 * purchase's id, or undefined if there is no such purchase: one round trip for finding the purchase
 * a payment event names and tying its PaymentIntent. Prepared: once per payment webhook.
 */
export async function attachPaymentIntent(db: Db, purchaseId: string, paymentIntentId: string): Promise<string | undefined> {
  return (await preparedQuery(db, ATTACH_PAYMENT_INTENT, [purchaseId, paymentIntentId], purchaseIdRow))[0]?.id;
}

export interface PaymentRefs {
  /** the price the checkout was opened at, later the gross received */
  grossCents: bigint | null;
  paymentIntentId: string | null;
  checkoutSessionId: string | null;
}

export const findPaymentRefs = (db: Db, purchaseId: string): Promise<PaymentRefs | null> =>
  db.purchase.findUnique({ where: { id: purchaseId }, select: { grossCents: true, paymentIntentId: true, checkoutSessionId: true } });

/** Gross and creator pool of a purchase settled on chain; null before the settlement is recorded. */
export async function findSettledAmounts(db: Db, purchaseId: string): Promise<{ grossCents: bigint; creatorPoolMicroUsdc: bigint } | null> {
  const p = await db.purchase.findUnique({
    where: { id: purchaseId },
    select: { settlementTxId: true, grossCents: true, creatorPoolMicroUsdc: true },
  });
  if (!p || !p.settlementTxId || p.grossCents === null || p.creatorPoolMicroUsdc === null) return null;
  return { grossCents: p.grossCents, creatorPoolMicroUsdc: p.creatorPoolMicroUsdc };
}

/** Charge and platform fee of each of these purchases (for period statistics). */
export const listPurchaseFees = (
  db: Db,
  purchaseIds: readonly string[],
): Promise<{ id: string; chargeId: string | null; platformFeeCents: bigint | null }[]> =>
  purchaseIds.length === 0
    ? Promise.resolve([])
    : db.purchase.findMany({ where: { id: { in: [...purchaseIds] } }, select: { id: true, chargeId: true, platformFeeCents: true } });

export interface PurchaseSummary {
  id: string;
  status: string;
  grossCents: bigint | null;
  rail: string;
  updatedAt: Date;
}

/** The newest purchases, for the /admin page. */
export const listRecentPurchases = (db: Db, limit: number): Promise<PurchaseSummary[]> =>
  db.purchase.findMany({
    orderBy: { createdAt: 'desc' },
    take: limit,
    select: { id: true, status: true, grossCents: true, rail: true, updatedAt: true },
  });

export async function countPurchasesByStatus(db: Db): Promise<{ status: string; count: number }[]> {
  const rows = await db.purchase.groupBy({ by: ['status'], _count: { _all: true } });
  return rows.map((r) => ({ status: r.status, count: r._count._all }));
}

/** When each purchase that settled in (after, until] was created and settled. */
export const listSettledBetween = (db: Db, after: Date, until: Date): Promise<{ createdAt: Date; updatedAt: Date }[]> =>
  db.purchase.findMany({
    where: { status: PurchaseStatus.Settled, updatedAt: { gt: after, lte: until } },
    select: { createdAt: true, updatedAt: true },
  });
