/**
 * What the purchase workflow needs from a chain. Each rail (Solana, Solana+Anchor, EVM) implements
 * it; activities receive rails by injection and never build clients themselves.
 */
import type { Rail } from '../shared/status';

interface SettlementPayout {
  wallet: string;
  amountMicroUsdc: bigint;
}

export interface SettlementRequest {
  purchaseId: string;
  buyerWallet: string;
  nft: { name: string; symbol: string; uri: string };
  payouts: readonly SettlementPayout[];
}

export interface SettlementResult {
  /** Solana signature or EVM transaction hash. */
  txId: string;
  /** Solana mint address or EVM token id (decimal string). */
  nftId: string;
  /** true when the chain already held this purchase's settlement and nothing new was sent. */
  alreadySettled: boolean;
}

/** A transaction that was signed and recorded before it was sent (docs/architecture.md §4). */
export interface SettlementAttempt {
  purchaseId: string;
  txId: string;
  /** Solana: lastValidBlockHeight of the blockhash it was signed with. EVM: the nonce. */
  validUntil: bigint;
  /** Solana: the signed transaction, rebroadcast by a retry while its blockhash is still valid. */
  signedTx?: Uint8Array;
  createdAt: Date;
}

/** Durable record of sent transactions, so a retry checks the old one before signing a new one. */
export interface SettlementJournal {
  recordAttempt(attempt: Omit<SettlementAttempt, 'createdAt'>): Promise<void>;
  attempts(purchaseId: string): Promise<SettlementAttempt[]>;
}

export interface SettlementRail {
  readonly rail: Rail;
  isValidWallet(address: string): boolean;
  /** The treasury's spendable USDC balance on this chain, in micro-USDC. */
  treasuryBalanceMicroUsdc(): Promise<bigint>;
  /**
   * Mint the NFT and pay every payout in one atomic transaction, at most once per purchaseId.
   * Throws DomainError with ErrorType.InsufficientTreasury, InvalidWallet, SettlementRejected,
   * BlockhashExpired or RpcUnavailable.
   */
  settle(request: SettlementRequest, journal: SettlementJournal): Promise<SettlementResult>;
  /** Reachability for /readyz. */
  ping(): Promise<void>;
}
