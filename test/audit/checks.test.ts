/**
 * The auditor's pure checks on hand-built books and chain observations: each one names the
 * purchase, wallet or journal it is about, and stays silent on books that agree.
 */
import {
  checkHolds,
  checkJournals,
  checkPurchaseMoney,
  checkPurchaseStatuses,
  checkSettlements,
  checkStripeEvents,
  checkTreasuryBalances,
  checkWalletTotals,
  compareStripeFees,
} from '../../src/audit/checks';
import { runAudit } from '../../src/audit/run';
import type {
  AuditJournal,
  AuditPayment,
  AuditPurchase,
  AuditSnapshot,
  ChainAuditReader,
  SettlementObservation,
} from '../../src/audit/types';
import { settlementJournalLines } from '../../src/db/ledger';
import { Rail } from '../../src/shared/status';

const NOW = new Date('2026-05-01T12:00:00Z');
const TREASURY = 'Treasury1111';

function purchase(id: string, over: Partial<AuditPurchase> = {}): AuditPurchase {
  return {
    id,
    rail: 'solana',
    status: 'settled',
    buyerWallet: `buyer-${id}`,
    grossCents: 2500n,
    stripeFeeCents: 103n,
    netCents: 2397n,
    platformFeeCents: 239n,
    creatorPoolMicroUsdc: 21_580_000n,
    paymentIntentId: `pi_${id}`,
    settlementTxId: `tx-${id}`,
    nftId: `nft-${id}`,
    updatedAt: NOW,
    ...over,
  };
}

const payments = (p: AuditPurchase, wallets = ['a', 'b', 'c']): AuditPayment[] =>
  [12_948_000n, 6_474_000n, 2_158_000n].map((amountMicroUsdc, position) => ({
    purchaseId: p.id,
    position,
    wallet: wallets[position] ?? '',
    amountMicroUsdc,
    rail: p.rail,
    txId: p.settlementTxId ?? '',
  }));

const settledJournal = (p: AuditPurchase): AuditJournal => ({
  id: `jtx-${p.id}`,
  kind: 'purchase_settled',
  purchaseId: p.id,
  entries: settlementJournalLines({ rail: Rail.Solana, grossCents: 2500n, stripeFeeCents: 103n, creatorPoolMicroUsdc: 21_580_000n }).map(
    (l) => ({ accountCode: l.account, amountMicro: l.amountMicro }),
  ),
});

function observed(rows: AuditPayment[], over: Partial<SettlementObservation['nft']> = {}): SettlementObservation {
  const usdcDeltas = new Map<string, bigint>();
  for (const r of rows) {
    usdcDeltas.set(r.wallet, (usdcDeltas.get(r.wallet) ?? 0n) + r.amountMicroUsdc);
    usdcDeltas.set(TREASURY, (usdcDeltas.get(TREASURY) ?? 0n) - r.amountMicroUsdc);
  }
  return { status: 'ok', usdcDeltas, nft: { exists: true, supply: 1n, buyerBalance: 1n, mintedToBuyerInTx: true, ...over } };
}

describe('purchase statuses', () => {
  it('terminal and waiting purchases are fine; an old in-flight one is stalled; with runs known, a missing run is named', () => {
    const ps = [
      purchase('p1'),
      purchase('p2', { status: 'awaiting_approval', updatedAt: new Date('2026-04-01T00:00:00Z') }),
      purchase('p3', { status: 'settling', updatedAt: new Date(NOW.getTime() - 16 * 60_000) }),
      purchase('p4', { status: 'fee_captured', updatedAt: new Date(NOW.getTime() - 60_000) }),
      purchase('p5', { status: 'weird' }),
    ];
    expect(checkPurchaseStatuses(ps, { now: NOW, stalledAfterMs: 15 * 60_000 }).map((f) => [f.code, f.purchaseId])).toEqual([
      ['purchase_stalled', 'p3'],
      ['unknown_purchase_status', 'p5'],
    ]);
    const withRuns = checkPurchaseStatuses(ps, { now: NOW, stalledAfterMs: 15 * 60_000, openRuns: new Set(['p3', 'p4']) });
    expect(withRuns.map((f) => [f.code, f.purchaseId])).toEqual([
      ['purchase_without_run', 'p2'],
      ['purchase_stalled', 'p3'],
      ['unknown_purchase_status', 'p5'],
    ]);
  });
});

describe('journals and money', () => {
  it('an unbalanced journal and a drifted account are named; a balanced ledger is silent', () => {
    const p = purchase('p1');
    const good = settledJournal(p);
    const accounts = (js: AuditJournal[]) => {
      const m = new Map<string, bigint>();
      for (const j of js) for (const e of j.entries) m.set(e.accountCode, (m.get(e.accountCode) ?? 0n) + e.amountMicro);
      return [...m].map(([code, balanceMicro]) => ({ code, balanceMicro }));
    };
    expect(checkJournals([good], accounts([good]))).toEqual([]);
    const bad: AuditJournal = { ...good, id: 'jtx-bad', entries: [...good.entries, { accountCode: 'stripe:fees', amountMicro: 7n }] };
    const findings = checkJournals([bad], accounts([good]));
    expect(findings.map((f) => [f.code, f.purchaseId ?? f.reference, f.actual])).toEqual([
      ['unbalanced_journal', 'p1', '7'],
      ['account_balance_drift', 'stripe:fees', '1030000'],
    ]);
  });

  it('gross ≠ fee + platform fee + pool, payout rows not summing to the pool, and a missing settlement journal are named', () => {
    const ok = purchase('ok');
    const split = purchase('split', { platformFeeCents: 240n });
    const rows = purchase('rows');
    const noJournal = purchase('nojournal');
    const pays = [...payments(ok), ...payments(split), ...payments(rows).slice(0, 2), ...payments(noJournal)];
    const findings = checkPurchaseMoney([ok, split, rows, noJournal], pays, [
      settledJournal(ok),
      settledJournal(split),
      settledJournal(rows),
    ]);
    expect(findings.map((f) => [f.code, f.purchaseId])).toEqual([
      ['fee_split_mismatch', 'split'],
      ['payout_sum_mismatch', 'rows'],
      ['settlement_journal_mismatch', 'nojournal'],
    ]);
  });
});

describe('holds, refunds and Stripe events', () => {
  it('a pending hold of an ended purchase, or of a purchase whose run is gone, is leaked', () => {
    const holds = [
      { id: 'h1', purchaseId: 'failed', account: 'treasury:solana', amountMicro: 5n, status: 'pending', expiresAt: NOW },
      { id: 'h2', purchaseId: 'live', account: 'treasury:evm', amountMicro: 6n, status: 'pending', expiresAt: NOW },
      { id: 'h3', purchaseId: 'settled', account: 'treasury:solana', amountMicro: 7n, status: 'posted', expiresAt: NOW },
    ];
    const ps = [
      purchase('failed', { status: 'failed' }),
      purchase('live', { status: 'awaiting_treasury', rail: 'evm' }),
      purchase('settled'),
    ];
    expect(checkHolds(holds, ps).map((f) => [f.code, f.purchaseId])).toEqual([['leaked_hold', 'failed']]);
    expect(checkHolds(holds, ps, { openRuns: new Set() }).map((f) => [f.code, f.purchaseId, f.rail])).toEqual([
      ['leaked_hold', 'failed', 'solana'],
      ['leaked_hold', 'live', 'evm'],
    ]);
  });

  it('a refund after settlement needs a clawback journal; before it, a voided hold; an unprocessed event is named', () => {
    const clawed = purchase('clawed', { status: 'refunded' });
    const unclawed = purchase('unclawed', { status: 'settled' });
    const early = purchase('early', { status: 'refunded', settlementTxId: null, nftId: null });
    const journals = [
      settledJournal(clawed),
      { id: 'jc', kind: 'purchase_clawback', purchaseId: 'clawed', entries: [] },
      settledJournal(unclawed),
    ];
    const holds = [{ id: 'h', purchaseId: 'early', account: 'treasury:solana', amountMicro: 1n, status: 'pending', expiresAt: NOW }];
    const events = [
      { id: 'evt_1', type: 'charge.refunded', receivedAt: NOW, processedAt: NOW, outcome: 'clawback', purchaseId: 'unclawed' },
      { id: 'evt_2', type: 'charge.refunded', receivedAt: NOW, processedAt: NOW, outcome: 'clawback', purchaseId: 'clawed' },
      {
        id: 'evt_3',
        type: 'checkout.session.completed',
        receivedAt: new Date(NOW.getTime() - 3_600_000),
        processedAt: null,
        outcome: null,
      },
    ];
    const findings = checkStripeEvents(events, [clawed, unclawed, early], journals, holds, { now: NOW, stalledAfterMs: 15 * 60_000 });
    expect(findings.map((f) => [f.code, f.purchaseId ?? f.reference])).toEqual([
      ['webhook_unprocessed', 'evt_3'],
      ['refund_unresolved', 'unclawed'],
      ['refund_unresolved', 'early'],
    ]);
  });
});

describe('chain checks', () => {
  it("settlement movements must equal the payout rows, and the NFT must be the buyer's", () => {
    const ok = purchase('ok');
    const off = purchase('off');
    const nft = purchase('nft');
    const gone = purchase('gone');
    const pays = [...payments(ok), ...payments(off), ...payments(nft), ...payments(gone)];
    const offObs = observed(payments(off));
    offObs.usdcDeltas.set('b', 6_474_001n);
    const findings = checkSettlements({
      rail: 'solana',
      treasuryWallet: TREASURY,
      normaliseWallet: (w) => w,
      purchases: [ok, off, nft, gone],
      payments: pays,
      observations: new Map([
        ['ok', observed(payments(ok))],
        ['off', offObs],
        ['nft', observed(payments(nft), { buyerBalance: 0n })],
        [
          'gone',
          { status: 'not_found', usdcDeltas: new Map(), nft: { exists: false, supply: 0n, buyerBalance: 0n, mintedToBuyerInTx: false } },
        ],
      ]),
    });
    expect(findings.map((f) => [f.code, f.purchaseId, f.wallet])).toEqual([
      ['settlement_mismatch', 'off', 'b'],
      ['nft_mismatch', 'nft', 'buyer-nft'],
      ['missing_settlement', 'gone', undefined],
    ]);
  });

  it('per wallet: more than the rows is a double payout, less a missing payout, none at all an unknown recipient', () => {
    const p = purchase('p1');
    const rows = payments(p);
    const transfers = [
      { txId: 'tx-p1', wallet: 'a', amountMicroUsdc: 12_948_000n },
      { txId: 'tx-p1', wallet: 'b', amountMicroUsdc: 6_474_000n },
      { txId: 'tx-extra', wallet: 'a', amountMicroUsdc: 1n },
      { txId: 'tx-stray', wallet: 'z', amountMicroUsdc: 9n },
    ];
    const { findings, walletsChecked } = checkWalletTotals({ rail: 'solana', normaliseWallet: (w) => w, payments: rows, transfers });
    expect(walletsChecked).toBe(4);
    expect(findings.map((f) => [f.code, f.wallet, f.expected, f.actual, f.txId])).toEqual([
      ['double_payout', 'a', '12948000', '12948001', 'tx-extra'],
      ['missing_payout', 'c', '2158000', '0', undefined],
      ['unknown_recipient', 'z', '0', '9', 'tx-stray'],
    ]);
    expect(findings[1]?.purchaseId).toBe('p1');
  });

  it("treasury balances and Stripe fees compare in the reconciliation's terms", () => {
    expect(
      checkTreasuryBalances(
        new Map([
          ['solana', 10n],
          ['evm', 5n],
        ]),
        new Map([
          ['solana', 10n],
          ['evm', 4n],
        ]),
      ),
    ).toEqual([
      expect.objectContaining({ code: 'treasury_balance_mismatch', rail: 'evm', reference: 'treasury:evm', expected: '5', actual: '4' }),
    ]);
    const findings = compareStripeFees(
      new Map([
        ['ch_b', 103n],
        ['ch_a', 50n],
        ['ch_c', 7n],
      ]),
      new Map([
        ['ch_a', { purchaseId: 'pa', chargeId: 'ch_a', stripeFeeCents: 49n }],
        ['ch_c', { purchaseId: 'pc', chargeId: 'ch_c', stripeFeeCents: 7n }],
      ]),
      [
        { purchaseId: 'pc', chargeId: 'ch_c', stripeFeeCents: 7n },
        { purchaseId: 'pd', chargeId: null, stripeFeeCents: 3n },
      ],
    );
    expect(findings.map((f) => [f.code, f.reference, f.expected, f.actual])).toEqual([
      ['stripe_fee_mismatch', 'ch_a', '50', '49'],
      ['stripe_fee_missing_from_ledger', 'ch_b', '103', 'missing'],
      ['ledger_fee_missing_in_stripe', 'purchase:pd', 'missing', '3'],
    ]);
  });
});

describe('runAudit', () => {
  const p = purchase('p1');
  const snapshot = (): AuditSnapshot => ({
    takenAt: NOW,
    purchases: [p],
    payments: payments(p),
    journals: [settledJournal(p)],
    accounts: settledJournal(p).entries.map((e) => ({ code: e.accountCode, balanceMicro: e.amountMicro })),
    holds: [],
    webhookEvents: [],
  });
  const reader = (over: Partial<ChainAuditReader> = {}): ChainAuditReader => ({
    rail: 'solana',
    normaliseWallet: (w) => w,
    treasuryWallet: async () => TREASURY,
    treasuryBalanceMicroUsdc: async () => -21_580_000n,
    observeSettlements: async () => new Map([['p1', observed(payments(p))]]),
    treasuryOutflows: async () => payments(p).map((r) => ({ txId: r.txId, wallet: r.wallet, amountMicroUsdc: r.amountMicroUsdc })),
    ...over,
  });

  it('agreeing books and chain are clean, with counts', async () => {
    const report = await runAudit({ books: { snapshot: async () => snapshot() }, chains: { solana: reader() }, now: () => NOW });
    expect(report).toMatchObject({ ok: true, findings: [], railsChecked: ['solana'], runsChecked: false });
    expect(report.counts).toMatchObject({
      purchasesChecked: 1,
      settlementsVerified: 1,
      walletsChecked: 3,
      journalsChecked: 1,
      treasuryTransfersScanned: 3,
    });
  });

  it('a rail the books use without a reader, or whose chain cannot be read, is a finding', async () => {
    const none = await runAudit({ books: { snapshot: async () => snapshot() }, chains: {}, now: () => NOW });
    expect(none.findings.map((f) => [f.code, f.rail])).toEqual([['chain_unreachable', 'solana']]);
    const down = await runAudit({
      books: { snapshot: async () => snapshot() },
      chains: { solana: reader({ treasuryOutflows: () => Promise.reject(new Error('ECONNREFUSED')) }) },
      now: () => NOW,
    });
    expect(down.ok).toBe(false);
    expect(down.findings).toEqual([
      expect.objectContaining({ code: 'chain_unreachable', rail: 'solana', message: expect.stringContaining('ECONNREFUSED') }),
    ]);
  });
});
