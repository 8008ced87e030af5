/**
 * The committed IDL (idl/settlement.json), generated from programs/settlement by
 * scripts/build-idl.mjs. Its `address` is the program's declared id; clients override it with
 * config.SETTLEMENT_PROGRAM_ID for the cluster they talk to.
 */
import type { Idl } from '@coral-xyz/anchor';
import settlementIdlJson from '../../../idl/settlement.json';

export const SETTLEMENT_IDL: Idl = settlementIdlJson as Idl;

/** Names as they appear in the IDL (snake_case, as in the Rust source). */
export const RECEIPT_SEED = 'receipt';
export const NFT_MINT_SEED = 'nft_mint';
export const MAX_SPLITS = 16;

/** Program error codes (6000 + position in programs/settlement/src/error.rs). */
export const SettlementProgramError = {
  NoSplits: 6000,
  TooManySplits: 6001,
  InvalidShare: 6002,
  SharesNotWhole: 6003,
  AmountsNotPool: 6004,
  AmountNotProportional: 6005,
  ArithmeticOverflow: 6006,
  EmptyPool: 6007,
  RecipientCountMismatch: 6008,
  InvalidRecipientAccount: 6009,
  RecipientNotWritable: 6010,
  DuplicateRecipient: 6011,
  RecipientIsTreasury: 6012,
  InsufficientTreasury: 6013,
} as const;
