/**
 * runAudit: read the books once (one read-only snapshot), read each treasury rail's chain, and run
 * every check in src/audit/checks.ts. Strictly read-only; everything it needs is injected.
 */
import {
  JournalKind,
  checkHolds,
  checkJournals,
  checkPurchaseMoney,
  checkPurchaseStatuses,
  checkSettlements,
  checkStripeEvents,
  checkTreasuryBalances,
  checkWalletTotals,
  ledgerTreasuryBalances,
} from './checks';
import {
  FindingCode,
  TREASURY_RAILS,
  treasuryRailOf,
  type AuditBooksReader,
  type AuditCounts,
  type AuditReport,
  type ChainAuditReader,
  type Finding,
  type TreasuryRail,
} from './types';

export interface AuditDeps {
  books: AuditBooksReader;
  /** one reader per treasury rail to prove against the chain; a rail the books use without a reader is reported */
  chains: Partial<Record<TreasuryRail, ChainAuditReader>>;
  /** rails to prove against the chain even when the books do not use them (default: only the rails they use) */
  rails?: readonly TreasuryRail[];
  /** purchase ids with an open purchase run; without it, runs are judged from status rows alone */
  openPurchaseRuns?: () => Promise<ReadonlySet<string>>;
  /** an in-flight purchase or unprocessed Stripe event older than this is reported (default 15 minutes) */
  stalledAfterMs?: number;
  now?: () => Date;
}

const DEFAULT_STALLED_AFTER_MS = 15 * 60_000;

export async function runAudit(deps: AuditDeps): Promise<AuditReport> {
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  const stalledAfterMs = deps.stalledAfterMs ?? DEFAULT_STALLED_AFTER_MS;
  const snap = await deps.books.snapshot();
  const openRuns = deps.openPurchaseRuns ? await deps.openPurchaseRuns() : undefined;
  const at = snap.takenAt;

  const findings: Finding[] = [
    ...checkPurchaseStatuses(snap.purchases, { now: at, stalledAfterMs, openRuns }),
    ...checkJournals(snap.journals, snap.accounts),
    ...checkPurchaseMoney(snap.purchases, snap.payments, snap.journals),
    ...checkHolds(snap.holds, snap.purchases, { openRuns }),
    ...checkStripeEvents(snap.webhookEvents, snap.purchases, snap.journals, snap.holds, { now: at, stalledAfterMs }),
  ];
  const counts: AuditCounts = {
    purchasesChecked: snap.purchases.length,
    settlementsVerified: 0,
    walletsChecked: 0,
    journalsChecked: snap.journals.length,
    holdsChecked: snap.holds.length,
    webhookEventsChecked: snap.webhookEvents.length,
    treasuryTransfersScanned: 0,
  };

  const settledIds = new Set(snap.journals.filter((j) => j.kind === JournalKind.Settled && j.purchaseId).map((j) => j.purchaseId));
  const byTx = new Map<string, string[]>();
  for (const p of snap.purchases) if (p.settlementTxId) byTx.set(p.settlementTxId, [...(byTx.get(p.settlementTxId) ?? []), p.id]);
  for (const [txId, ids] of byTx) {
    if (ids.length > 1)
      findings.push({
        code: FindingCode.DuplicateSettlement,
        txId,
        purchaseId: ids[0],
        message: `purchases ${ids.join(', ')} all claim settlement transaction ${txId}`,
      });
  }

  const ledger = ledgerTreasuryBalances(snap.accounts);
  const chainBalances = new Map<TreasuryRail, bigint>();
  const railsChecked: TreasuryRail[] = [];
  for (const rail of TREASURY_RAILS) {
    const purchases = snap.purchases.filter((p) => treasuryRailOf(p.rail) === rail && (p.status === 'settled' || settledIds.has(p.id)));
    const payments = snap.payments.filter((p) => treasuryRailOf(p.rail) === rail);
    const used = purchases.length > 0 || payments.length > 0 || (ledger.get(rail) ?? 0n) !== 0n;
    const reader = deps.chains[rail];
    if (!used && !deps.rails?.includes(rail)) continue;
    if (!reader) {
      findings.push({
        code: FindingCode.ChainUnreachable,
        rail,
        message: `the books use the ${rail} treasury but no ${rail} chain reader was given: not proven against the chain`,
      });
      continue;
    }
    try {
      const [treasuryWallet, balance, observations, transfers] = await Promise.all([
        reader.treasuryWallet(),
        reader.treasuryBalanceMicroUsdc(),
        reader.observeSettlements(
          purchases
            .filter((p) => p.settlementTxId && p.nftId)
            .map((p) => ({ purchaseId: p.id, txId: p.settlementTxId ?? '', nftId: p.nftId ?? '', buyerWallet: p.buyerWallet })),
        ),
        reader.treasuryOutflows(),
      ]);
      chainBalances.set(rail, balance);
      findings.push(
        ...checkSettlements({ rail, treasuryWallet, normaliseWallet: (w) => reader.normaliseWallet(w), purchases, payments, observations }),
      );
      const wallets = checkWalletTotals({ rail, normaliseWallet: (w) => reader.normaliseWallet(w), payments, transfers });
      findings.push(...wallets.findings);
      counts.settlementsVerified += [...observations.values()].filter((o) => o.status === 'ok').length;
      counts.walletsChecked += wallets.walletsChecked;
      counts.treasuryTransfersScanned += transfers.length;
      railsChecked.push(rail);
    } catch (err) {
      findings.push({
        code: FindingCode.ChainUnreachable,
        rail,
        message: `could not read the ${rail} chain: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }
  findings.push(...checkTreasuryBalances(ledger, chainBalances));

  return {
    ok: findings.length === 0,
    startedAt: startedAt.toISOString(),
    finishedAt: now().toISOString(),
    railsChecked,
    runsChecked: openRuns !== undefined,
    counts,
    findings,
  };
}

/** Human-readable report: one line per finding, then the counts. */
export function formatAuditReport(report: AuditReport): string {
  const lines: string[] = [];
  lines.push(report.ok ? 'audit: clean, no findings' : `audit: ${report.findings.length} finding(s)`);
  for (const f of report.findings) {
    const subject = [f.rail, f.purchaseId, f.wallet && `wallet ${f.wallet}`].filter(Boolean).join(' ');
    lines.push(`  ${f.code.padEnd(30)} ${subject ? `[${subject}] ` : ''}${f.message}`);
  }
  const c = report.counts;
  lines.push(
    `checked: ${c.purchasesChecked} purchases, ${c.settlementsVerified} settlements verified on chain, ${c.walletsChecked} wallets, ` +
      `${c.treasuryTransfersScanned} treasury transfers, ${c.journalsChecked} journals, ${c.holdsChecked} holds, ${c.webhookEventsChecked} Stripe events`,
  );
  lines.push(
    `rails proven against the chain: ${report.railsChecked.join(', ') || 'none'}; Temporal runs ${report.runsChecked ? 'checked' : 'not checked'}`,
  );
  return `${lines.join('\n')}\n`;
}
