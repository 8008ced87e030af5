/**
 * Weekly treasury reconciliation: period stats from the ledger, ledger vs on-chain
 * treasury, ledger fees vs Stripe balance transactions, runway, health and stale holds. One row per
 * period; the row, its discrepancies and its alerts are written in one database transaction. The
 * ledger-vs-chain and fee comparisons are the auditor's own checks (src/audit/checks.ts).
 */
import type { Logger } from 'pino';
import type Stripe from 'stripe';
import type { SettlementRail } from '../chains/rail';
import type { Db } from '../db/client';
import { checkTreasuryBalances, compareStripeFees, type LedgerFee } from '../audit/checks';
import { FindingCode, type Finding, type TreasuryRail } from '../audit/types';
import { bookedStripeFeesOfCharges, expireOrphanedHolds, listStaleHolds } from '../db/ledger';
import { saveTreasuryReconciliation, type SavedReconciliation } from '../db/reconciliations';
import { assessTreasury, periodStats, TREASURY_RAILS, treasuryTotals } from '../services/treasury';
import { DomainError, ErrorType } from '../shared/errors';
import { Rail } from '../shared/status';
import type { HealthThresholds, Period, TreasuryHealth } from '../shared/treasury-health';

export interface ReconciliationActivityDeps {
  db: Db;
  stripe: Stripe;
  rails: Partial<Record<Rail, SettlementRail>>;
  logger: Logger;
  /** defaults: $2,000 and 7 days (the config defaults) */
  treasuryThresholds?: HealthThresholds;
  now?: () => Date;
}

/** Discrepancy kinds are the auditor's finding codes (src/audit/types.ts), so both speak one language. */
const DiscrepancyKind = {
  TreasuryBalance: FindingCode.TreasuryBalanceMismatch,
  StripeFeeMissingFromLedger: FindingCode.StripeFeeMissingFromLedger,
  StripeFeeMismatch: FindingCode.StripeFeeMismatch,
  LedgerFeeMissingInStripe: FindingCode.LedgerFeeMissingInStripe,
} as const;

interface DiscrepancyReport {
  kind: string;
  reference: string;
  /** the source of truth's value (ledger for the chain check, Stripe for fees), decimal string */
  expected: string;
  actual: string;
}

interface StaleHoldReport {
  holdId: string;
  purchaseId: string;
  account: string;
  amountMicroUsdc: string;
  expiresAt: string;
}

/** Temporal payload: money as decimal strings. */
export interface ReconciliationReport extends Period {
  purchaseCount: number;
  frontedMicroUsdc: string;
  platformFeesCents: string;
  stripeFeesCents: string;
  netToReplenishCents: string;
  ledgerTreasuryMicroUsdc: string;
  chainTreasuryMicroUsdc: string;
  openHoldsMicroUsdc: string;
  availableMicroUsdc: string;
  runwayDays: number | null;
  health: TreasuryHealth;
  railsChecked: string[];
  stripeBalanceTransactions: number;
  staleHolds: StaleHoldReport[];
  discrepancies: DiscrepancyReport[];
}

function stripeFeeOf(bt: Stripe.BalanceTransaction): bigint {
  return bt.fee_details.filter((d) => d.type === 'stripe_fee').reduce((s, d) => s + BigInt(d.amount), 0n);
}

function sourceId(bt: Stripe.BalanceTransaction): string | null {
  const s = bt.source;
  if (!s) return null;
  return typeof s === 'string' ? s : s.id;
}

function toDiscrepancy(f: Finding): DiscrepancyReport {
  return { kind: f.code, reference: f.reference ?? '', expected: f.expected ?? '', actual: f.actual ?? '' };
}

const DEFAULT_TREASURY_THRESHOLDS: HealthThresholds = { warningBalanceCents: 200_000n, runwayWarningDays: 7 };

export function createReconciliationActivities({
  db,
  stripe,
  rails,
  logger,
  treasuryThresholds = DEFAULT_TREASURY_THRESHOLDS,
  now = () => new Date(),
}: ReconciliationActivityDeps) {
  const chainRailFor = (rail: Rail): SettlementRail | undefined =>
    rails[rail] ?? (rail === Rail.Solana ? rails[Rail.SolanaAnchor] : undefined);

  return {
    async computeTreasuryReconciliation(period: Period): Promise<ReconciliationReport> {
      const start = new Date(period.periodStart);
      const end = new Date(period.periodEnd);
      if (!(start.getTime() < end.getTime()))
        throw new DomainError(ErrorType.ValidationFailed, `empty reconciliation period ${period.periodStart}..${period.periodEnd}`);
      const at = now();
      // Holds of purchases that already ended are released first; the rest are reported as stale.
      await expireOrphanedHolds(db, at);
      const [stats, totals, stale] = await Promise.all([periodStats(db, start, end), treasuryTotals(db), listStaleHolds(db, at, 500)]);

      // Ledger vs chain, per treasury account whose chain this worker can reach.
      let ledgerChecked = 0n;
      let chainChecked = 0n;
      const railsChecked: string[] = [];
      const ledgerBalances = new Map<TreasuryRail, bigint>();
      const chainBalances = new Map<TreasuryRail, bigint>();
      for (const rail of TREASURY_RAILS) {
        const chain = chainRailFor(rail);
        const account = totals.accounts.find((a) => a.rail === rail);
        if (!chain || !account) {
          logger.warn({ rail }, 'reconciliation: no rail configured for this treasury account; not compared with a chain');
          continue;
        }
        const onChain = await chain.treasuryBalanceMicroUsdc();
        railsChecked.push(rail);
        ledgerChecked += account.balanceMicro;
        chainChecked += onChain;
        ledgerBalances.set(rail, account.balanceMicro);
        chainBalances.set(rail, onChain);
      }
      const discrepancies: DiscrepancyReport[] = checkTreasuryBalances(ledgerBalances, chainBalances).map(toDiscrepancy);

      // Ledger fees vs Stripe balance transactions created in the period (every page).
      const stripeFees = new Map<string, bigint>();
      let listed = 0;
      for await (const bt of stripe.balanceTransactions.list({
        created: { gte: Math.floor(start.getTime() / 1000), lt: Math.floor(end.getTime() / 1000) },
        limit: 100,
      })) {
        listed += 1;
        const charge = sourceId(bt);
        if (!charge || (bt.type !== 'charge' && bt.type !== 'payment')) continue;
        stripeFees.set(charge, (stripeFees.get(charge) ?? 0n) + stripeFeeOf(bt));
      }
      const ledgerByCharge = new Map<string, LedgerFee>(stats.fees.filter((f) => f.chargeId).map((f) => [f.chargeId ?? '', f]));
      // A charge settled in another period is matched against the ledger wherever it was booked.
      const outside = [...stripeFees.keys()].filter((c) => !ledgerByCharge.has(c));
      for (const fee of await bookedStripeFeesOfCharges(db, outside)) ledgerByCharge.set(fee.chargeId, fee);
      discrepancies.push(...compareStripeFees(stripeFees, ledgerByCharge, stats.fees).map(toDiscrepancy));

      const { runwayDays, health } = assessTreasury(totals.availableMicro, stats.frontedMicroUsdc, treasuryThresholds);
      return {
        periodStart: start.toISOString(),
        periodEnd: end.toISOString(),
        purchaseCount: stats.purchaseCount,
        frontedMicroUsdc: stats.frontedMicroUsdc.toString(),
        platformFeesCents: stats.platformFeesCents.toString(),
        stripeFeesCents: stats.stripeFeesCents.toString(),
        netToReplenishCents: stats.netToReplenishCents.toString(),
        ledgerTreasuryMicroUsdc: ledgerChecked.toString(),
        chainTreasuryMicroUsdc: chainChecked.toString(),
        openHoldsMicroUsdc: totals.openHoldsMicro.toString(),
        availableMicroUsdc: totals.availableMicro.toString(),
        runwayDays: runwayDays === null ? null : Number(runwayDays),
        health,
        railsChecked,
        stripeBalanceTransactions: listed,
        staleHolds: stale.map((h) => ({
          holdId: h.id,
          purchaseId: h.purchaseId,
          account: h.account,
          amountMicroUsdc: h.amountMicro.toString(),
          expiresAt: h.expiresAt.toISOString(),
        })),
        discrepancies,
      };
    },

    /**
     * Upsert the period's row (unique on the period), replace its discrepancies, and queue alerts in
     * the outbox, atomically. Re-running a period rewrites the same row; alert dedupe keys include
     * the period, so a re-run does not alert twice for the same condition.
     */
    async recordTreasuryReconciliation(report: ReconciliationReport): Promise<SavedReconciliation> {
      const saved = await saveTreasuryReconciliation(db, {
        periodStart: new Date(report.periodStart),
        periodEnd: new Date(report.periodEnd),
        figures: {
          purchaseCount: report.purchaseCount,
          frontedMicroUsdc: BigInt(report.frontedMicroUsdc),
          platformFeesCents: BigInt(report.platformFeesCents),
          stripeFeesCents: BigInt(report.stripeFeesCents),
          netToReplenishCents: BigInt(report.netToReplenishCents),
          ledgerTreasuryMicroUsdc: BigInt(report.ledgerTreasuryMicroUsdc),
          chainTreasuryMicroUsdc: BigInt(report.chainTreasuryMicroUsdc),
          openHoldsMicroUsdc: BigInt(report.openHoldsMicroUsdc),
          runwayDays: report.runwayDays,
          health: report.health,
          staleHolds: report.staleHolds,
        },
        discrepancies: report.discrepancies,
        alerts: alertsFor(report),
      });
      if (saved.alertsRaised)
        logger.warn(
          { reconciliationId: saved.reconciliationId, health: report.health, discrepancies: report.discrepancies.length },
          'treasury reconciliation raised alerts',
        );
      return saved;
    },
  };
}

function alertsFor(r: ReconciliationReport) {
  const period = `${r.periodStart}..${r.periodEnd}`;
  const alerts: {
    dedupeKey: string;
    severity: 'warning' | 'critical';
    kind: string;
    message: string;
    payload: Record<string, string | number | null>;
  }[] = [];
  if (r.health !== 'healthy') {
    alerts.push({
      dedupeKey: `treasury-health:${r.periodStart}:${r.health}`,
      severity: r.health,
      kind: 'treasury_health',
      message: `treasury is ${r.health}: available ${r.availableMicroUsdc} micro-USDC, runway ${r.runwayDays ?? 'n/a'} days (period ${period})`,
      payload: { availableMicroUsdc: r.availableMicroUsdc, runwayDays: r.runwayDays, health: r.health },
    });
  }
  const chainMismatch = r.discrepancies.filter((d) => d.kind === DiscrepancyKind.TreasuryBalance);
  if (chainMismatch.length) {
    alerts.push({
      dedupeKey: `treasury-chain-mismatch:${r.periodStart}`,
      severity: 'critical',
      kind: 'treasury_chain_mismatch',
      message: `ledger treasury differs from the chain on ${chainMismatch.map((d) => `${d.reference} (ledger ${d.expected}, chain ${d.actual})`).join(', ')}`,
      payload: { count: chainMismatch.length },
    });
  }
  const feeMismatch = r.discrepancies.length - chainMismatch.length;
  if (feeMismatch > 0) {
    alerts.push({
      dedupeKey: `treasury-fee-mismatch:${r.periodStart}`,
      severity: 'warning',
      kind: 'stripe_fee_mismatch',
      message: `${feeMismatch} Stripe fee mismatch(es) between the ledger and Stripe balance transactions (period ${period})`,
      payload: { count: feeMismatch },
    });
  }
  if (r.staleHolds.length) {
    alerts.push({
      dedupeKey: `treasury-stale-holds:${r.periodStart}`,
      severity: 'warning',
      kind: 'stale_holds',
      message: `${r.staleHolds.length} pending treasury hold(s) past their TTL`,
      payload: { count: r.staleHolds.length },
    });
  }
  return alerts;
}
