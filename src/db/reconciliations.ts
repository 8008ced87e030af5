/** Treasury reconciliations: one row per period, its discrepancies, and the alerts it raised. */
import { queueAlerts, type QueuedAlert } from './alerts';
import type { Db, Prisma } from './client';
import { newId } from './ids';

export interface ReconciliationFigures {
  purchaseCount: number;
  frontedMicroUsdc: bigint;
  platformFeesCents: bigint;
  stripeFeesCents: bigint;
  netToReplenishCents: bigint;
  ledgerTreasuryMicroUsdc: bigint;
  chainTreasuryMicroUsdc: bigint;
  openHoldsMicroUsdc: bigint;
  runwayDays: number | null;
  health: string;
  /** stored as JSON, as reported */
  staleHolds: readonly StaleHoldEntry[];
}

/** A stale hold as the reconciliation reports it: money as a decimal string. */
interface StaleHoldEntry {
  holdId: string;
  purchaseId: string;
  account: string;
  amountMicroUsdc: string;
  expiresAt: string;
}

export interface Discrepancy {
  kind: string;
  reference: string;
  expected: string;
  actual: string;
}

export interface SavedReconciliation {
  reconciliationId: string;
  created: boolean;
  alertsRaised: number;
}

/**
 * Upsert the period's row (unique on the period), replace its discrepancies, and queue its alerts
 * (each payload gets the reconciliation id), in one transaction.
 */
export async function saveTreasuryReconciliation(
  db: Db,
  input: {
    periodStart: Date;
    periodEnd: Date;
    figures: ReconciliationFigures;
    discrepancies: readonly Discrepancy[];
    alerts: readonly QueuedAlert[];
  },
): Promise<SavedReconciliation> {
  const { periodStart, periodEnd } = input;
  const values = {
    ...input.figures,
    staleHolds: input.figures.staleHolds.map((h): Prisma.InputJsonObject => ({
      holdId: h.holdId,
      purchaseId: h.purchaseId,
      account: h.account,
      amountMicroUsdc: h.amountMicroUsdc,
      expiresAt: h.expiresAt,
    })),
  };
  return db.$transaction(async (tx) => {
    const existing = await tx.treasuryReconciliation.findUnique({
      where: { periodStart_periodEnd: { periodStart, periodEnd } },
      select: { id: true },
    });
    const row = await tx.treasuryReconciliation.upsert({
      where: { periodStart_periodEnd: { periodStart, periodEnd } },
      create: { id: newId('recon'), periodStart, periodEnd, ...values },
      update: values,
    });
    await tx.reconciliationDiscrepancy.deleteMany({ where: { reconciliationId: row.id } });
    if (input.discrepancies.length) {
      await tx.reconciliationDiscrepancy.createMany({
        data: input.discrepancies.map((d) => ({
          id: newId('disc'),
          reconciliationId: row.id,
          kind: d.kind,
          reference: d.reference,
          expected: d.expected,
          actual: d.actual,
        })),
        skipDuplicates: true,
      });
    }
    const raised = await queueAlerts(
      tx,
      input.alerts.map((a) => ({ ...a, payload: { ...a.payload, reconciliationId: row.id } })),
    );
    return { reconciliationId: row.id, created: existing === null, alertsRaised: raised };
  });
}

/** The most recently written reconciliation (a re-run of a period rewrites its row in place). */
export function loadLastReconciliation(db: Db) {
  return db.treasuryReconciliation.findFirst({
    orderBy: [{ periodEnd: 'desc' }, { createdAt: 'desc' }],
    include: { discrepancies: { orderBy: [{ kind: 'asc' }, { reference: 'asc' }] } },
  });
}

export type LastReconciliation = Awaited<ReturnType<typeof loadLastReconciliation>>;
