/**
 * The auditor's view of the books: every table it checks, read in one READ ONLY, REPEATABLE READ
 * transaction so the snapshot is consistent and the audit cannot write.
 */
import type { AuditBooksReader, AuditSnapshot, AuditWebhookEvent } from '../audit/types';
import { Prisma, type Db } from './client';

const REFUND_EVENT_TYPES = ['charge.refunded', 'charge.dispute.created'];

/** The purchase a refund or dispute names: metadata.purchase_id, else its PaymentIntent. */
function refundTarget(payload: unknown): { purchaseId?: string; paymentIntentId?: string } {
  const obj = (payload as { data?: { object?: { metadata?: { purchase_id?: unknown } | null; payment_intent?: unknown } } } | null)?.data
    ?.object;
  const claimed = obj?.metadata?.purchase_id;
  const pi = obj?.payment_intent;
  const piId =
    typeof pi === 'string'
      ? pi
      : pi && typeof pi === 'object' && typeof (pi as { id?: unknown }).id === 'string'
        ? (pi as { id: string }).id
        : undefined;
  return { ...(typeof claimed === 'string' ? { purchaseId: claimed } : {}), ...(piId ? { paymentIntentId: piId } : {}) };
}

async function readAuditSnapshot(db: Db): Promise<AuditSnapshot> {
  return db.$transaction(
    async (tx) => {
      await tx.$executeRaw`SET TRANSACTION READ ONLY`;
      const [{ now }] = await tx.$queryRaw<[{ now: Date }]>`SELECT now() AS now`;
      const purchases = await tx.purchase.findMany({
        select: {
          id: true,
          rail: true,
          status: true,
          buyerWallet: true,
          grossCents: true,
          stripeFeeCents: true,
          netCents: true,
          platformFeeCents: true,
          creatorPoolMicroUsdc: true,
          paymentIntentId: true,
          settlementTxId: true,
          nftId: true,
          updatedAt: true,
        },
        orderBy: { createdAt: 'asc' },
      });
      const payments = await tx.collaboratorPayment.findMany({
        select: { purchaseId: true, position: true, wallet: true, amountMicroUsdc: true, rail: true, txId: true },
        orderBy: [{ purchaseId: 'asc' }, { position: 'asc' }],
      });
      const journals = await tx.journalTransaction.findMany({
        select: { id: true, kind: true, purchaseId: true },
        orderBy: { createdAt: 'asc' },
      });
      const entries = await tx.journalEntry.findMany({ select: { transactionId: true, accountCode: true, amountMicro: true } });
      const accounts = await tx.ledgerAccount.findMany({ select: { code: true, balanceMicro: true } });
      const holds = await tx.treasuryHold.findMany({
        select: { id: true, purchaseId: true, account: true, amountMicro: true, status: true, expiresAt: true },
      });
      const events = await tx.webhookEvent.findMany({
        select: { id: true, type: true, receivedAt: true, processedAt: true, outcome: true },
      });
      const refunds = await tx.webhookEvent.findMany({ where: { type: { in: REFUND_EVENT_TYPES } }, select: { id: true, payload: true } });

      const byPaymentIntent = new Map(purchases.filter((p) => p.paymentIntentId).map((p) => [p.paymentIntentId ?? '', p.id]));
      const known = new Set(purchases.map((p) => p.id));
      const targetOf = new Map<string, string>();
      for (const r of refunds) {
        const t = refundTarget(r.payload);
        const id =
          t.purchaseId && known.has(t.purchaseId) ? t.purchaseId : t.paymentIntentId ? byPaymentIntent.get(t.paymentIntentId) : undefined;
        if (id) targetOf.set(r.id, id);
      }
      const entriesOf = new Map<string, { accountCode: string; amountMicro: bigint }[]>();
      for (const e of entries) {
        const list = entriesOf.get(e.transactionId);
        const line = { accountCode: e.accountCode, amountMicro: e.amountMicro };
        if (list) list.push(line);
        else entriesOf.set(e.transactionId, [line]);
      }
      return {
        takenAt: now,
        purchases,
        payments,
        journals: journals.map((j) => ({ ...j, entries: entriesOf.get(j.id) ?? [] })),
        accounts,
        holds,
        webhookEvents: events.map((e): AuditWebhookEvent => {
          const purchaseId = targetOf.get(e.id);
          return { ...e, ...(purchaseId ? { purchaseId } : {}) };
        }),
      };
    },
    { isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead, timeout: 120_000, maxWait: 10_000 },
  );
}

export function createAuditBooksReader(db: Db): AuditBooksReader {
  return { snapshot: () => readAuditSnapshot(db) };
}
