/**
 * A creator's earnings for a period, read from the payout records (CollaboratorPayment, indexed by
 * wallet and time), the products they share in (Collaborator, indexed by wallet) and the ledger's
 * clawback journals. Money is bigint micro-USDC.
 */
import { DomainError, ErrorType } from '../shared/errors';
import { splitLargestRemainder } from '../shared/money';
import { PurchaseStatus } from '../shared/status';
import type { Db } from './client';

/** Paid but not settled yet: the wallet's share is on its way. */
const PENDING_EARNING_STATUSES: readonly PurchaseStatus[] = [
  PurchaseStatus.Paid,
  PurchaseStatus.FeeCaptured,
  PurchaseStatus.TreasuryReserved,
  PurchaseStatus.Settling,
  PurchaseStatus.AwaitingTreasury,
  PurchaseStatus.AwaitingApproval,
  PurchaseStatus.Paused,
];

/** The most lines one answer carries; a longer period is refused rather than cut silently. */
const MAX_EARNING_LINES = 10_000;

type EarningKind = 'settled' | 'pending' | 'clawback';

interface EarningLine {
  kind: EarningKind;
  purchaseId: string;
  productId: string;
  productTitle: string;
  role: string;
  shareBps: number;
  /** null for a pending purchase whose creator pool is not known yet (fee not captured) */
  amountMicroUsdc: bigint | null;
  purchaseStatus: string;
  rail: string;
  /** the settlement transaction (Solana signature or EVM hash); null while pending */
  txId: string | null;
  /** settled: when the payout was recorded; pending: when the purchase was created; clawback: when it was booked */
  at: Date;
}

export interface Earnings {
  wallet: string;
  from: Date;
  to: Date;
  totals: {
    /** distinct purchases that paid this wallet in the period */
    settledSales: number;
    settledMicroUsdc: bigint;
    pendingSales: number;
    /** known shares of pending purchases (those past fee capture) */
    pendingMicroUsdc: bigint;
    clawbackMicroUsdc: bigint;
    /** settled − clawbacks: negative when clawbacks of earlier sales exceed this period's payouts */
    netMicroUsdc: bigint;
  };
  lines: EarningLine[];
}

interface ClawbackRow {
  purchaseId: string;
  productId: string;
  productTitle: string;
  role: string;
  shareBps: number;
  amountMicroUsdc: bigint;
  status: string;
  rail: string;
  txId: string;
  bookedAt: Date;
}

function tooMany(count: number): void {
  if (count > MAX_EARNING_LINES)
    throw new DomainError(ErrorType.ValidationFailed, `more than ${MAX_EARNING_LINES} earning lines in this period; ask for a shorter one`);
}

/** Earnings of `wallet` in [from, to): payouts recorded, shares pending, clawbacks booked. */
export async function creatorEarnings(db: Db, wallet: string, from: Date, to: Date): Promise<Earnings> {
  const [payments, shares, clawbacks] = await Promise.all([
    db.collaboratorPayment.findMany({
      where: { wallet, createdAt: { gte: from, lt: to } },
      orderBy: [{ createdAt: 'asc' }, { purchaseId: 'asc' }, { position: 'asc' }],
      take: MAX_EARNING_LINES + 1,
      include: { purchase: { select: { status: true, productId: true, product: { select: { title: true } } } } },
    }),
    db.collaborator.findMany({ where: { wallet }, select: { productId: true } }),
    db.$queryRaw<ClawbackRow[]>`
      SELECT cp."purchaseId", p."productId", pr."title" AS "productTitle", cp."role", cp."shareBps", cp."amountMicroUsdc",
             p."status", cp."rail", cp."txId", jt."createdAt" AS "bookedAt"
        FROM "CollaboratorPayment" cp
        JOIN "JournalTransaction" jt ON jt."purchaseId" = cp."purchaseId" AND jt."kind" = 'purchase_clawback'
        JOIN "Purchase" p ON p."id" = cp."purchaseId"
        JOIN "Product" pr ON pr."id" = p."productId"
       WHERE cp."wallet" = ${wallet} AND jt."createdAt" >= ${from} AND jt."createdAt" < ${to}
       ORDER BY jt."createdAt", cp."purchaseId", cp."position"
       LIMIT ${MAX_EARNING_LINES + 1}`,
  ]);
  tooMany(payments.length);
  tooMany(clawbacks.length);
  const productIds = [...new Set(shares.map((s) => s.productId))];
  const pending =
    productIds.length === 0
      ? []
      : await db.purchase.findMany({
          where: { productId: { in: productIds }, status: { in: [...PENDING_EARNING_STATUSES] }, createdAt: { gte: from, lt: to } },
          orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
          take: MAX_EARNING_LINES + 1,
          include: { product: { select: { title: true, collaborators: { orderBy: { position: 'asc' } } } } },
        });
  tooMany(pending.length);

  const lines: EarningLine[] = payments.map((p) => ({
    kind: 'settled',
    purchaseId: p.purchaseId,
    productId: p.purchase.productId,
    productTitle: p.purchase.product.title,
    role: p.role,
    shareBps: p.shareBps,
    amountMicroUsdc: p.amountMicroUsdc,
    purchaseStatus: p.purchase.status,
    rail: p.rail,
    txId: p.txId,
    at: p.createdAt,
  }));
  let pendingMicro = 0n;
  for (const p of pending) {
    const collaborators = p.product.collaborators;
    // The split the settlement will make, once the creator pool is known.
    const parts = p.creatorPoolMicroUsdc === null ? undefined : splitLargestRemainder(p.creatorPoolMicroUsdc, collaborators);
    collaborators.forEach((c, i) => {
      if (c.wallet !== wallet) return;
      const amount = parts?.[i] ?? null;
      if (amount !== null) pendingMicro += amount;
      lines.push({
        kind: 'pending',
        purchaseId: p.id,
        productId: p.productId,
        productTitle: p.product.title,
        role: c.role,
        shareBps: c.shareBps,
        amountMicroUsdc: amount,
        purchaseStatus: p.status,
        rail: p.rail,
        txId: null,
        at: p.createdAt,
      });
    });
  }
  for (const c of clawbacks) {
    lines.push({
      kind: 'clawback',
      purchaseId: c.purchaseId,
      productId: c.productId,
      productTitle: c.productTitle,
      role: c.role,
      shareBps: Number(c.shareBps),
      amountMicroUsdc: BigInt(c.amountMicroUsdc),
      purchaseStatus: c.status,
      rail: c.rail,
      txId: c.txId,
      at: c.bookedAt,
    });
  }
  const settledMicro = payments.reduce((s, p) => s + p.amountMicroUsdc, 0n);
  const clawbackMicro = clawbacks.reduce((s, c) => s + BigInt(c.amountMicroUsdc), 0n);
  return {
    wallet,
    from,
    to,
    totals: {
      settledSales: new Set(payments.map((p) => p.purchaseId)).size,
      settledMicroUsdc: settledMicro,
      pendingSales: new Set(lines.filter((l) => l.kind === 'pending').map((l) => l.purchaseId)).size,
      pendingMicroUsdc: pendingMicro,
      clawbackMicroUsdc: clawbackMicro,
      netMicroUsdc: settledMicro - clawbackMicro,
    },
    lines,
  };
}
