/**
 * The audit's checks: pure functions from what the books and the chain say to findings. runAudit
 * (src/audit/run.ts) and the weekly reconciliation (src/activities/reconciliation.ts) both use them,
 * so there is one definition of "the books agree with the chain".
 */
import { Account, HoldStatus, settlementJournalLines } from '../db/ledger';
import { MICRO_PER_CENT } from '../shared/money';
import { PURCHASE_STATUSES, PurchaseStatus, Rail } from '../shared/status';
import {
  FindingCode,
  treasuryRailOf,
  type AuditHold,
  type AuditJournal,
  type AuditPayment,
  type AuditPurchase,
  type AuditWebhookEvent,
  type Finding,
  type SettlementObservation,
  type TreasuryRail,
  type TreasuryTransfer,
} from './types';

const TERMINAL_STATUSES: ReadonlySet<string> = new Set([
  PurchaseStatus.Settled,
  PurchaseStatus.Failed,
  PurchaseStatus.Refunded,
  PurchaseStatus.Disputed,
]);
/** Waiting for a stated reason: the buyer's payment, the treasury, an approver, or the emergency pause's resume. */
const WAITING_STATUSES: ReadonlySet<string> = new Set([
  PurchaseStatus.PendingPayment,
  PurchaseStatus.AwaitingTreasury,
  PurchaseStatus.AwaitingApproval,
  PurchaseStatus.Paused,
]);
const KNOWN_STATUSES: ReadonlySet<string> = new Set(PURCHASE_STATUSES);

export const JournalKind = { Settled: 'purchase_settled', Clawback: 'purchase_clawback' } as const;

const sum = (values: Iterable<bigint>): bigint => {
  let s = 0n;
  for (const v of values) s += v;
  return s;
};

function addTo(map: Map<string, bigint>, key: string, amount: bigint): void {
  map.set(key, (map.get(key) ?? 0n) + amount);
}

export interface StatusCheckOptions {
  now: Date;
  /** an in-flight status older than this is stalled */
  stalledAfterMs: number;
  /** purchase ids with an open run; undefined when runs are not checked */
  openRuns?: ReadonlySet<string>;
}

/** Every purchase is terminal, or waiting for a stated reason, or moving (with an open run when known). */
export function checkPurchaseStatuses(purchases: readonly AuditPurchase[], opts: StatusCheckOptions): Finding[] {
  const findings: Finding[] = [];
  for (const p of purchases) {
    const rail = treasuryRailOf(p.rail);
    if (!KNOWN_STATUSES.has(p.status)) {
      findings.push({
        code: FindingCode.UnknownPurchaseStatus,
        purchaseId: p.id,
        rail,
        actual: p.status,
        message: `purchase ${p.id} has unknown status ${p.status}`,
      });
      continue;
    }
    if (TERMINAL_STATUSES.has(p.status)) continue;
    // A pending payment has no run yet: the webhook starts it.
    if (opts.openRuns && p.status !== PurchaseStatus.PendingPayment && !opts.openRuns.has(p.id)) {
      findings.push({
        code: FindingCode.PurchaseWithoutRun,
        purchaseId: p.id,
        rail,
        actual: p.status,
        message: `purchase ${p.id} is ${p.status} but its run purchase-${p.id} is not open`,
      });
      continue;
    }
    const age = opts.now.getTime() - p.updatedAt.getTime();
    if (!WAITING_STATUSES.has(p.status) && age > opts.stalledAfterMs) {
      findings.push({
        code: FindingCode.PurchaseStalled,
        purchaseId: p.id,
        rail,
        actual: p.status,
        message: `purchase ${p.id} has been ${p.status} for ${Math.round(age / 60_000)} min without a stated reason to wait`,
      });
    }
  }
  return findings;
}

/** Every journal transaction sums to zero, and every account's running balance is the sum of its entries. */
export function checkJournals(journals: readonly AuditJournal[], accounts: readonly { code: string; balanceMicro: bigint }[]): Finding[] {
  const findings: Finding[] = [];
  const byAccount = new Map<string, bigint>();
  for (const j of journals) {
    const total = sum(j.entries.map((e) => e.amountMicro));
    for (const e of j.entries) addTo(byAccount, e.accountCode, e.amountMicro);
    if (total !== 0n) {
      findings.push({
        code: FindingCode.UnbalancedJournal,
        reference: j.id,
        ...(j.purchaseId ? { purchaseId: j.purchaseId } : {}),
        expected: '0',
        actual: total.toString(),
        message: `journal ${j.id} (${j.kind}${j.purchaseId ? ` of ${j.purchaseId}` : ''}) sums to ${total} micro, not 0`,
      });
    }
  }
  for (const a of accounts) {
    const entries = byAccount.get(a.code) ?? 0n;
    if (entries !== a.balanceMicro) {
      findings.push({
        code: FindingCode.AccountBalanceDrift,
        reference: a.code,
        expected: entries.toString(),
        actual: a.balanceMicro.toString(),
        message: `ledger account ${a.code} says ${a.balanceMicro} micro but its entries sum to ${entries}`,
      });
    }
  }
  return findings;
}

const linesByAccount = (lines: readonly { accountCode: string; amountMicro: bigint }[]) => {
  const m = new Map<string, bigint>();
  for (const l of lines) if (l.amountMicro !== 0n) addTo(m, l.accountCode, l.amountMicro);
  return m;
};

const sameLines = (a: Map<string, bigint>, b: Map<string, bigint>) => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

/**
 * Per purchase: gross = fee + platform fee + pool (pool in micro-USDC, 1 cent = 10,000), payout rows
 * sum to the pool, and a settled purchase has exactly one settlement journal with exactly the lines
 * its figures imply.
 */
export function checkPurchaseMoney(
  purchases: readonly AuditPurchase[],
  payments: readonly AuditPayment[],
  journals: readonly AuditJournal[],
): Finding[] {
  const findings: Finding[] = [];
  const paymentsOf = groupBy(payments, (p) => p.purchaseId);
  const settledJournals = groupBy(
    journals.filter((j) => j.kind === JournalKind.Settled && j.purchaseId !== null),
    (j) => j.purchaseId ?? '',
  );
  for (const p of purchases) {
    const rail = treasuryRailOf(p.rail);
    const { grossCents: gross, stripeFeeCents: fee, platformFeeCents: platform, creatorPoolMicroUsdc: pool } = p;
    if (gross !== null && fee !== null && platform !== null && pool !== null) {
      const parts = fee * MICRO_PER_CENT + platform * MICRO_PER_CENT + pool;
      if (gross * MICRO_PER_CENT !== parts || (p.netCents !== null && p.netCents !== gross - fee)) {
        findings.push({
          code: FindingCode.FeeSplitMismatch,
          purchaseId: p.id,
          rail,
          expected: (gross * MICRO_PER_CENT).toString(),
          actual: parts.toString(),
          message: `purchase ${p.id}: gross ${gross}¢ ≠ fee ${fee}¢ + platform fee ${platform}¢ + pool ${pool} micro (net ${p.netCents ?? '?'}¢)`,
        });
      }
    }
    if (p.status !== PurchaseStatus.Settled && !settledJournals.has(p.id)) continue;
    // Settled, or settled and later refunded or disputed: the settlement stays on the books.
    const rows = paymentsOf.get(p.id) ?? [];
    const js = settledJournals.get(p.id) ?? [];
    if (p.status === PurchaseStatus.Settled && (!p.settlementTxId || !p.nftId || rows.length === 0)) {
      findings.push({
        code: FindingCode.MissingSettlement,
        purchaseId: p.id,
        rail,
        message: `purchase ${p.id} is settled but has ${p.settlementTxId ? '' : 'no settlement transaction, '}${p.nftId ? '' : 'no NFT, '}${rows.length} payout row(s)`,
      });
    }
    if (pool !== null && rows.length > 0 && sum(rows.map((r) => r.amountMicroUsdc)) !== pool) {
      findings.push({
        code: FindingCode.PayoutSumMismatch,
        purchaseId: p.id,
        rail,
        expected: pool.toString(),
        actual: sum(rows.map((r) => r.amountMicroUsdc)).toString(),
        message: `purchase ${p.id}: payout rows sum to ${sum(rows.map((r) => r.amountMicroUsdc))} micro-USDC, the pool is ${pool}`,
      });
    }
    if (js.length !== 1) {
      findings.push({
        code: FindingCode.SettlementJournalMismatch,
        purchaseId: p.id,
        rail,
        expected: '1',
        actual: String(js.length),
        message: `purchase ${p.id} has ${js.length} settlement journals, not 1`,
      });
    } else if (gross !== null && fee !== null && pool !== null) {
      const expected = linesByAccount(
        settlementJournalLines({
          rail: p.rail === Rail.Evm ? Rail.Evm : Rail.Solana,
          grossCents: gross,
          stripeFeeCents: fee,
          creatorPoolMicroUsdc: pool,
        }).map((l) => ({ accountCode: l.account, amountMicro: l.amountMicro })),
      );
      const actual = linesByAccount(js[0]?.entries ?? []);
      if (!sameLines(expected, actual)) {
        const show = (m: Map<string, bigint>) => [...m].map(([k, v]) => `${k} ${v}`).join(', ');
        findings.push({
          code: FindingCode.SettlementJournalMismatch,
          purchaseId: p.id,
          rail,
          reference: js[0]?.id,
          expected: show(expected),
          actual: show(actual),
          message: `purchase ${p.id}: settlement journal lines differ from its figures`,
        });
      }
    }
  }
  return findings;
}

export interface HoldCheckOptions {
  openRuns?: ReadonlySet<string>;
}

/** No pending hold without a live purchase: its purchase is not terminal, and its run is open when runs are known. */
export function checkHolds(holds: readonly AuditHold[], purchases: readonly AuditPurchase[], opts: HoldCheckOptions = {}): Finding[] {
  const byId = new Map(purchases.map((p) => [p.id, p]));
  const findings: Finding[] = [];
  for (const h of holds) {
    if (h.status !== HoldStatus.Pending) continue;
    const p = byId.get(h.purchaseId);
    const rail = treasuryRailOf(h.account === Account.treasury(Rail.Evm) ? Rail.Evm : Rail.Solana);
    const reason = !p
      ? 'its purchase does not exist'
      : TERMINAL_STATUSES.has(p.status)
        ? `its purchase is ${p.status}`
        : opts.openRuns && !opts.openRuns.has(p.id)
          ? `its run purchase-${p.id} is not open`
          : undefined;
    if (reason) {
      findings.push({
        code: FindingCode.LeakedHold,
        purchaseId: h.purchaseId,
        rail,
        reference: h.id,
        actual: h.amountMicro.toString(),
        message: `hold ${h.id} reserves ${h.amountMicro} micro-USDC on ${h.account} but ${reason}`,
      });
    }
  }
  return findings;
}

export interface EventCheckOptions {
  now: Date;
  stalledAfterMs: number;
}

/**
 * Stripe events are stored once (the event id is the key) and processed; every refund or dispute
 * ends in a voided (or never made, or expired) hold before the pivot, or a clawback journal after it.
 */
export function checkStripeEvents(
  events: readonly AuditWebhookEvent[],
  purchases: readonly AuditPurchase[],
  journals: readonly AuditJournal[],
  holds: readonly AuditHold[],
  opts: EventCheckOptions,
): Finding[] {
  const findings: Finding[] = [];
  const byId = new Map(purchases.map((p) => [p.id, p]));
  const kinds = new Map<string, Set<string>>();
  for (const j of journals)
    if (j.purchaseId) (kinds.get(j.purchaseId) ?? kinds.set(j.purchaseId, new Set()).get(j.purchaseId))?.add(j.kind);
  const holdOf = new Map(holds.map((h) => [h.purchaseId, h]));
  const unresolved = new Map<string, string>();

  for (const e of events) {
    if (e.processedAt === null && opts.now.getTime() - e.receivedAt.getTime() > opts.stalledAfterMs) {
      findings.push({
        code: FindingCode.WebhookUnprocessed,
        reference: e.id,
        message: `Stripe event ${e.id} (${e.type}) stored ${e.receivedAt.toISOString()} was never processed`,
      });
    }
    if (!e.purchaseId || e.processedAt === null) continue;
    const p = byId.get(e.purchaseId);
    const k = kinds.get(e.purchaseId);
    if (p && k?.has(JournalKind.Settled) && !k.has(JournalKind.Clawback)) {
      unresolved.set(p.id, `${e.type} ${e.id} arrived but the settled purchase has no clawback journal (status ${p.status})`);
    }
  }
  for (const p of purchases) {
    if (p.status !== PurchaseStatus.Refunded && p.status !== PurchaseStatus.Disputed) continue;
    const k = kinds.get(p.id);
    const hold = holdOf.get(p.id);
    if (k?.has(JournalKind.Settled)) {
      if (!k.has(JournalKind.Clawback)) unresolved.set(p.id, `${p.status} after settlement without a clawback journal`);
    } else if (hold && (hold.status === HoldStatus.Pending || hold.status === HoldStatus.Posted)) {
      unresolved.set(p.id, `${p.status} before settlement but its hold ${hold.id} is ${hold.status}, not voided`);
    }
  }
  for (const [purchaseId, why] of unresolved) {
    const p = byId.get(purchaseId);
    findings.push({
      code: FindingCode.RefundUnresolved,
      purchaseId,
      ...(p ? { rail: treasuryRailOf(p.rail) } : {}),
      message: `purchase ${purchaseId}: ${why}`,
    });
  }
  return findings;
}

/** Ledger treasury account vs on-chain treasury balance, for each rail whose chain was read. */
export function checkTreasuryBalances(ledger: ReadonlyMap<TreasuryRail, bigint>, chain: ReadonlyMap<TreasuryRail, bigint>): Finding[] {
  const findings: Finding[] = [];
  for (const [rail, onChain] of chain) {
    const booked = ledger.get(rail) ?? 0n;
    const account = Account.treasury(rail === 'evm' ? Rail.Evm : Rail.Solana);
    if (booked !== onChain) {
      findings.push({
        code: FindingCode.TreasuryBalanceMismatch,
        rail,
        reference: account,
        expected: booked.toString(),
        actual: onChain.toString(),
        message: `${account} is ${booked} micro-USDC in the ledger but ${onChain} on chain (difference ${onChain - booked})`,
      });
    }
  }
  return findings;
}

/** Ledger treasury balances per rail, from the ledger accounts. */
export function ledgerTreasuryBalances(accounts: readonly { code: string; balanceMicro: bigint }[]): Map<TreasuryRail, bigint> {
  const out = new Map<TreasuryRail, bigint>();
  for (const a of accounts) {
    if (a.code === Account.treasury(Rail.Solana)) out.set('solana', a.balanceMicro);
    if (a.code === Account.treasury(Rail.Evm)) out.set('evm', a.balanceMicro);
  }
  return out;
}

export interface SettlementCheckInput {
  rail: TreasuryRail;
  treasuryWallet: string;
  normaliseWallet(wallet: string): string;
  purchases: readonly AuditPurchase[];
  payments: readonly AuditPayment[];
  observations: ReadonlyMap<string, SettlementObservation>;
}

/**
 * Each settlement on chain is exactly its payout rows: the transaction landed, moved USDC from the
 * treasury to each wallet exactly as the rows say (and nowhere else), and minted the buyer's NFT,
 * which exists now with supply 1 in the buyer's hands.
 */
export function checkSettlements(input: SettlementCheckInput): Finding[] {
  const { rail, normaliseWallet: norm } = input;
  const treasury = norm(input.treasuryWallet);
  const paymentsOf = groupBy(input.payments, (p) => p.purchaseId);
  const findings: Finding[] = [];
  for (const p of input.purchases) {
    if (!p.settlementTxId) continue;
    const obs = input.observations.get(p.id);
    const txId = p.settlementTxId;
    if (!obs || obs.status === 'not_found') {
      findings.push({
        code: FindingCode.MissingSettlement,
        purchaseId: p.id,
        rail,
        txId,
        message: `purchase ${p.id}: settlement transaction ${txId} is not on chain`,
      });
      continue;
    }
    if (obs.status === 'failed') {
      findings.push({
        code: FindingCode.SettlementFailedOnChain,
        purchaseId: p.id,
        rail,
        txId,
        message: `purchase ${p.id}: settlement transaction ${txId} failed on chain`,
      });
      continue;
    }
    const expected = new Map<string, bigint>();
    for (const row of paymentsOf.get(p.id) ?? []) {
      addTo(expected, norm(row.wallet), row.amountMicroUsdc);
      addTo(expected, treasury, -row.amountMicroUsdc);
    }
    for (const wallet of new Set([...expected.keys(), ...obs.usdcDeltas.keys()])) {
      const want = expected.get(wallet) ?? 0n;
      const got = obs.usdcDeltas.get(wallet) ?? 0n;
      if (want === got) continue;
      findings.push({
        code: FindingCode.SettlementMismatch,
        purchaseId: p.id,
        rail,
        txId,
        wallet,
        expected: want.toString(),
        actual: got.toString(),
        message: `purchase ${p.id}: settlement ${txId} moved ${got} micro-USDC for ${wallet === treasury ? 'the treasury ' : ''}${wallet}, its payout rows say ${want}`,
      });
    }
    const nft = obs.nft;
    if (!nft.exists || nft.supply !== 1n || nft.buyerBalance !== 1n || !nft.mintedToBuyerInTx) {
      findings.push({
        code: FindingCode.NftMismatch,
        purchaseId: p.id,
        rail,
        txId,
        wallet: p.buyerWallet,
        reference: p.nftId ?? undefined,
        message: `purchase ${p.id}: NFT ${p.nftId ?? '?'} ${nft.exists ? `has supply ${nft.supply}, buyer holds ${nft.buyerBalance}` : 'does not exist'}${nft.mintedToBuyerInTx ? '' : ', and the settlement did not mint it to the buyer'}`,
      });
    }
  }
  return findings;
}

export interface WalletCheckInput {
  rail: TreasuryRail;
  normaliseWallet(wallet: string): string;
  /** payout rows of this rail's purchases */
  payments: readonly AuditPayment[];
  transfers: readonly TreasuryTransfer[];
}

/**
 * Per wallet, the USDC the treasury actually sent equals the sum of its payout rows: nobody was paid
 * twice, nobody was missed. A transfer the books know nothing about shows up here even when the
 * database is internally consistent.
 */
export function checkWalletTotals(input: WalletCheckInput): { findings: Finding[]; walletsChecked: number } {
  const { rail, normaliseWallet: norm } = input;
  const booked = new Map<string, bigint>();
  const bookedTx = new Map<string, Set<string>>();
  for (const p of input.payments) {
    const w = norm(p.wallet);
    addTo(booked, w, p.amountMicroUsdc);
    (bookedTx.get(w) ?? bookedTx.set(w, new Set()).get(w))?.add(p.txId);
  }
  const paid = new Map<string, bigint>();
  const paidTx = new Map<string, TreasuryTransfer[]>();
  for (const t of input.transfers) {
    const w = norm(t.wallet);
    addTo(paid, w, t.amountMicroUsdc);
    (paidTx.get(w) ?? paidTx.set(w, []).get(w))?.push(t);
  }
  const findings: Finding[] = [];
  const wallets = new Set([...booked.keys(), ...paid.keys()]);
  for (const wallet of [...wallets].sort()) {
    const want = booked.get(wallet) ?? 0n;
    const got = paid.get(wallet) ?? 0n;
    if (want === got) continue;
    const extra = (paidTx.get(wallet) ?? []).filter((t) => !bookedTx.get(wallet)?.has(t.txId));
    const base = { rail, wallet, expected: want.toString(), actual: got.toString(), ...(extra[0] ? { txId: extra[0].txId } : {}) };
    if (want === 0n) {
      findings.push({
        ...base,
        code: FindingCode.UnknownRecipient,
        message: `the treasury sent ${got} micro-USDC to ${wallet}, which has no payout rows (tx ${extra.map((t) => t.txId).join(', ')})`,
      });
    } else if (got > want) {
      findings.push({
        ...base,
        code: FindingCode.DoublePayout,
        message: `${wallet} received ${got} micro-USDC from the treasury but its payout rows sum to ${want}: ${got - want} paid beyond the books${extra.length ? ` (unrecorded tx ${extra.map((t) => t.txId).join(', ')})` : ''}`,
      });
    } else {
      const purchases = [...new Set(input.payments.filter((p) => norm(p.wallet) === wallet).map((p) => p.purchaseId))];
      findings.push({
        ...base,
        code: FindingCode.MissingPayout,
        ...(purchases.length === 1 ? { purchaseId: purchases[0] } : {}),
        message: `${wallet}'s payout rows sum to ${want} micro-USDC but the treasury sent it ${got}: ${want - got} never paid (purchases ${purchases.join(', ')})`,
      });
    }
  }
  return { findings, walletsChecked: wallets.size };
}

export interface LedgerFee {
  purchaseId: string;
  chargeId: string | null;
  stripeFeeCents: bigint;
}

/**
 * Ledger fees vs Stripe's balance transactions for a period. `stripeFees` is Stripe's fee per charge
 * in the period; `booked` is every settled purchase's fee by charge (wherever it was booked);
 * `periodFees` the fees the ledger booked in the period. Findings are in a stable order.
 */
export function compareStripeFees(
  stripeFees: ReadonlyMap<string, bigint>,
  booked: ReadonlyMap<string, LedgerFee>,
  periodFees: readonly LedgerFee[],
): Finding[] {
  const findings: Finding[] = [];
  for (const [charge, fee] of [...stripeFees.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const b = booked.get(charge);
    if (!b) {
      findings.push({
        code: FindingCode.StripeFeeMissingFromLedger,
        reference: charge,
        expected: fee.toString(),
        actual: 'missing',
        message: `Stripe charged a ${fee}¢ fee on ${charge}, which no settled purchase books`,
      });
    } else if (b.stripeFeeCents !== fee) {
      findings.push({
        code: FindingCode.StripeFeeMismatch,
        reference: charge,
        purchaseId: b.purchaseId,
        expected: fee.toString(),
        actual: b.stripeFeeCents.toString(),
        message: `charge ${charge}: Stripe's fee is ${fee}¢, the ledger booked ${b.stripeFeeCents}¢`,
      });
    }
  }
  for (const f of periodFees) {
    if (f.chargeId && stripeFees.has(f.chargeId)) continue;
    findings.push({
      code: FindingCode.LedgerFeeMissingInStripe,
      reference: f.chargeId ?? `purchase:${f.purchaseId}`,
      purchaseId: f.purchaseId,
      expected: 'missing',
      actual: f.stripeFeeCents.toString(),
      message: `the ledger booked a ${f.stripeFeeCents}¢ fee for ${f.chargeId ?? f.purchaseId} that Stripe's listing does not show`,
    });
  }
  return findings;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = m.get(k);
    if (list) list.push(item);
    else m.set(k, [item]);
  }
  return m;
}
