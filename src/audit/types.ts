/**
 * The auditor's vocabulary: what it reads (a snapshot of the books, one chain reader per treasury
 * rail) and what it reports (typed findings). Money is bigint inside, decimal strings in findings.
 */
import type { Rail } from '../shared/status';

/** Stable finding codes: tests, alerts and the chaos run match on these, never on messages. */
export const FindingCode = {
  /** a purchase in an in-flight status (paid … settling) that has not moved for too long */
  PurchaseStalled: 'purchase_stalled',
  /** a non-terminal purchase whose Temporal run is not open (only when runs are checked) */
  PurchaseWithoutRun: 'purchase_without_run',
  UnknownPurchaseStatus: 'unknown_purchase_status',
  /** settled in the books, but no settlement transaction, NFT or payout rows, or the chain has no such transaction */
  MissingSettlement: 'missing_settlement',
  /** two purchases claim the same settlement transaction */
  DuplicateSettlement: 'duplicate_settlement',
  /** the recorded settlement transaction failed on chain */
  SettlementFailedOnChain: 'settlement_failed_on_chain',
  /** the settlement transaction's USDC movements differ from its CollaboratorPayment rows */
  SettlementMismatch: 'settlement_mismatch',
  /** the NFT does not exist, its supply is not 1, it is not held by the buyer, or it was not minted by the settlement */
  NftMismatch: 'nft_mismatch',
  /** payout rows of a purchase do not sum to its creator pool */
  PayoutSumMismatch: 'payout_sum_mismatch',
  /** a wallet received more USDC from the treasury than its payout rows say */
  DoublePayout: 'double_payout',
  /** a wallet received less USDC from the treasury than its payout rows say */
  MissingPayout: 'missing_payout',
  /** the treasury sent USDC to a wallet that has no payout rows at all */
  UnknownRecipient: 'unknown_recipient',
  /** a journal transaction whose entries do not sum to zero */
  UnbalancedJournal: 'unbalanced_journal',
  /** a ledger account's running balance differs from the sum of its entries */
  AccountBalanceDrift: 'account_balance_drift',
  /** gross ≠ stripe fee + platform fee + pool, or net ≠ gross − fee */
  FeeSplitMismatch: 'fee_split_mismatch',
  /** a settled purchase has no (or more than one, or a different) settlement journal */
  SettlementJournalMismatch: 'settlement_journal_mismatch',
  /** ledger treasury account ≠ on-chain treasury balance */
  TreasuryBalanceMismatch: 'treasury_balance_mismatch',
  /** a pending treasury hold whose purchase ended or whose run is gone */
  LeakedHold: 'leaked_hold',
  /** a stored Stripe event that was never processed */
  WebhookUnprocessed: 'webhook_unprocessed',
  /** a refund or dispute that ended in neither a voided hold nor a clawback journal */
  RefundUnresolved: 'refund_unresolved',
  /** a rail the books use could not be read */
  ChainUnreachable: 'chain_unreachable',
  /** Stripe charged a fee on a charge the ledger has no settled purchase for */
  StripeFeeMissingFromLedger: 'stripe_fee_missing_from_ledger',
  /** the ledger's fee for a charge differs from Stripe's balance transaction */
  StripeFeeMismatch: 'stripe_fee_mismatch',
  /** the ledger booked a fee for a charge that Stripe's listing for the period does not show */
  LedgerFeeMissingInStripe: 'ledger_fee_missing_in_stripe',
} as const;
export type FindingCode = (typeof FindingCode)[keyof typeof FindingCode];

/** The chain a treasury lives on: solana-anchor shares the Solana treasury. */
export type TreasuryRail = 'solana' | 'evm';
export const TREASURY_RAILS: readonly TreasuryRail[] = ['solana', 'evm'];
export const treasuryRailOf = (rail: Rail | string): TreasuryRail => (rail === 'evm' ? 'evm' : 'solana');

export interface Finding {
  code: FindingCode;
  message: string;
  purchaseId?: string;
  wallet?: string;
  rail?: TreasuryRail;
  txId?: string;
  /** what the object is when it is none of the above: a ledger account, a journal, a charge, a hold */
  reference?: string;
  /** the source of truth's value and the observed one, decimal strings where they are money */
  expected?: string;
  actual?: string;
}

// ---------------------------------------------------------------------------------------------
// The books, as read in one consistent snapshot.

export interface AuditPurchase {
  id: string;
  rail: string;
  status: string;
  buyerWallet: string;
  grossCents: bigint | null;
  stripeFeeCents: bigint | null;
  netCents: bigint | null;
  platformFeeCents: bigint | null;
  creatorPoolMicroUsdc: bigint | null;
  paymentIntentId: string | null;
  settlementTxId: string | null;
  nftId: string | null;
  updatedAt: Date;
}

export interface AuditPayment {
  purchaseId: string;
  position: number;
  wallet: string;
  amountMicroUsdc: bigint;
  rail: string;
  txId: string;
}

export interface AuditJournal {
  id: string;
  kind: string;
  purchaseId: string | null;
  entries: { accountCode: string; amountMicro: bigint }[];
}

export interface AuditHold {
  id: string;
  purchaseId: string;
  account: string;
  amountMicro: bigint;
  status: string;
  expiresAt: Date;
}

export interface AuditWebhookEvent {
  id: string;
  type: string;
  receivedAt: Date;
  processedAt: Date | null;
  outcome: string | null;
  /** for refunds and disputes: the purchase the event names (metadata or PaymentIntent), if any */
  purchaseId?: string;
}

export interface AuditSnapshot {
  takenAt: Date;
  purchases: AuditPurchase[];
  payments: AuditPayment[];
  journals: AuditJournal[];
  accounts: { code: string; balanceMicro: bigint }[];
  holds: AuditHold[];
  webhookEvents: AuditWebhookEvent[];
}

export interface AuditBooksReader {
  snapshot(): Promise<AuditSnapshot>;
}

// ---------------------------------------------------------------------------------------------
// The chain, one reader per treasury rail.

export interface SettlementToVerify {
  purchaseId: string;
  txId: string;
  nftId: string;
  buyerWallet: string;
}

export interface SettlementObservation {
  /** not_found: the chain has no such transaction */
  status: 'ok' | 'failed' | 'not_found';
  /** USDC the transaction moved, per wallet (normalised with the reader's normaliseWallet); the treasury's is negative */
  usdcDeltas: Map<string, bigint>;
  nft: {
    /** the token exists now */
    exists: boolean;
    supply: bigint;
    /** how many of it the buyer holds now */
    buyerBalance: bigint;
    /** this transaction created it and gave it to the buyer */
    mintedToBuyerInTx: boolean;
  };
}

/** One USDC movement out of the treasury, to one wallet. */
export interface TreasuryTransfer {
  txId: string;
  wallet: string;
  amountMicroUsdc: bigint;
}

export interface ChainAuditReader {
  readonly rail: TreasuryRail;
  /** the treasury's wallet as it appears in usdcDeltas */
  treasuryWallet(): Promise<string>;
  /** the form wallets are compared in (EVM: lower case; Solana: as is) */
  normaliseWallet(wallet: string): string;
  treasuryBalanceMicroUsdc(): Promise<bigint>;
  /** one observation per settlement, keyed by purchaseId */
  observeSettlements(settlements: readonly SettlementToVerify[]): Promise<Map<string, SettlementObservation>>;
  /** every USDC movement out of the treasury over its whole history */
  treasuryOutflows(): Promise<TreasuryTransfer[]>;
}

// ---------------------------------------------------------------------------------------------
// The report.

export interface AuditCounts {
  purchasesChecked: number;
  settlementsVerified: number;
  walletsChecked: number;
  journalsChecked: number;
  holdsChecked: number;
  webhookEventsChecked: number;
  treasuryTransfersScanned: number;
}

export interface AuditReport {
  /** true when there are no findings */
  ok: boolean;
  startedAt: string;
  finishedAt: string;
  railsChecked: TreasuryRail[];
  /** whether purchase runs were checked against Temporal */
  runsChecked: boolean;
  counts: AuditCounts;
  findings: Finding[];
}
