/**
 * Instruction building for the Anchor settlement program (rail `solana-anchor`), through
 * `@coral-xyz/anchor`'s Program and the committed IDL. Nothing here sends anything.
 */
import { createHash } from 'node:crypto';
import { BN, Program, type Provider } from '@coral-xyz/anchor';
import { ASSOCIATED_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, getAssociatedTokenAddressSync } from '@solana/spl-token';
import { Connection, PublicKey, SystemProgram, type TransactionInstruction } from '@solana/web3.js';
import { DomainError, ErrorType } from '../../shared/errors';
import { PURCHASE_ID_PATTERN } from '../../shared/ids';
import { BPS_DENOMINATOR } from '../../shared/money';
import { MAX_SPLITS, NFT_MINT_SEED, RECEIPT_SEED, SETTLEMENT_IDL } from './idl';

const U64_MAX = (1n << 64n) - 1n;
const U16_MAX = 0xffff;

export interface SettlePurchaseSplit {
  shareBps: number;
  /** micro-USDC */
  amount: bigint;
}

export interface SettlePurchaseParams {
  /** The business purchase id; on chain it is its SHA-256 (see purchaseIdSeed). */
  purchaseId: string;
  /** micro-USDC; the split amounts add up to it. */
  pool: bigint;
  splits: readonly SettlePurchaseSplit[];
}

export interface SettlePurchaseAccounts {
  programId: PublicKey;
  /** Signer: owns treasuryUsdc and pays rent. */
  treasury: PublicKey;
  buyer: PublicKey;
  usdcMint: PublicKey;
  /** USDC token accounts, one per split, in split order (remaining accounts). */
  recipients: readonly PublicKey[];
  /** Defaults to the treasury's associated USDC account. */
  treasuryUsdc?: PublicKey;
  /** Defaults to SPL Token (USDC is a classic SPL mint). */
  usdcTokenProgram?: PublicKey;
  /** Defaults to Token-2022, like the plain Solana rail's NFTs. */
  nftTokenProgram?: PublicKey;
}

/**
 * A purchase id is up to 64 bytes but a PDA seed at most 32, so the program takes the id's
 * SHA-256 (UTF-8) as `purchase_id` and as the seed of the receipt and NFT mint.
 */
export function purchaseIdSeed(purchaseId: string): Buffer {
  if (!PURCHASE_ID_PATTERN.test(purchaseId)) {
    throw new DomainError(ErrorType.ValidationFailed, 'purchaseId must match PURCHASE_ID_PATTERN');
  }
  return createHash('sha256').update(purchaseId, 'utf8').digest();
}

export function findReceiptAddress(programId: PublicKey, purchaseId: string): [PublicKey, number] {
  return PublicKey.findProgramAddressSync([Buffer.from(RECEIPT_SEED), purchaseIdSeed(purchaseId)], programId);
}

export function findNftMintAddress(programId: PublicKey, purchaseId: string): [PublicKey, number] {
  return PublicKey.findProgramAddressSync([Buffer.from(NFT_MINT_SEED), purchaseIdSeed(purchaseId)], programId);
}

/**
 * Building an instruction from explicit accounts never touches the RPC, so a Program made only
 * for encoding gets a connection that is never used.
 */
const OFFLINE_CONNECTION = new Connection('http://127.0.0.1:8899');

export type SettlementProgram = Program;

export function createSettlementProgram(programId: PublicKey, connection: Connection = OFFLINE_CONNECTION): SettlementProgram {
  const provider: Provider = { connection };
  return new Program({ ...SETTLEMENT_IDL, address: programId.toBase58() }, provider);
}

const encodingProgram = createSettlementProgram(new PublicKey(SETTLEMENT_IDL.address));

function toU64(value: bigint, field: string): BN {
  if (value < 0n || value > U64_MAX) throw new DomainError(ErrorType.ValidationFailed, `${field} must fit in a u64`);
  return new BN(value.toString());
}

/** The Anchor-side shape of SettlePurchaseArgs (camelCase, as Program presents the IDL). */
function toArgs(params: SettlePurchaseParams) {
  return {
    purchaseId: [...purchaseIdSeed(params.purchaseId)],
    pool: toU64(params.pool, 'pool'),
    splits: params.splits.map((split, index) => {
      if (!Number.isInteger(split.shareBps) || split.shareBps < 0 || split.shareBps > U16_MAX) {
        throw new DomainError(ErrorType.ValidationFailed, `splits[${index}].shareBps must fit in a u16`);
      }
      return { shareBps: split.shareBps, amount: toU64(split.amount, `splits[${index}].amount`) };
    }),
  };
}

/** Instruction data: 8-byte discriminator + Borsh(SettlePurchaseArgs). */
export function encodeSettlePurchaseData(params: SettlePurchaseParams): Buffer {
  return encodingProgram.coder.instruction.encode('settlePurchase', { args: toArgs(params) });
}

/** Every account of settle_purchase, in IDL order, derived where the program derives it. */
function settlePurchaseAccounts(accounts: SettlePurchaseAccounts, purchaseId: string) {
  const usdcTokenProgram = accounts.usdcTokenProgram ?? TOKEN_PROGRAM_ID;
  const nftTokenProgram = accounts.nftTokenProgram ?? TOKEN_2022_PROGRAM_ID;
  const [receipt] = findReceiptAddress(accounts.programId, purchaseId);
  const [nftMint] = findNftMintAddress(accounts.programId, purchaseId);
  return {
    treasury: accounts.treasury,
    buyer: accounts.buyer,
    receipt,
    nftMint,
    buyerNftAccount: getAssociatedTokenAddressSync(nftMint, accounts.buyer, true, nftTokenProgram),
    usdcMint: accounts.usdcMint,
    treasuryUsdc: accounts.treasuryUsdc ?? getAssociatedTokenAddressSync(accounts.usdcMint, accounts.treasury, false, usdcTokenProgram),
    nftTokenProgram,
    usdcTokenProgram,
    associatedTokenProgram: ASSOCIATED_TOKEN_PROGRAM_ID,
    systemProgram: SystemProgram.programId,
  };
}

/** The settle_purchase instruction for a cluster where the program is deployed at `programId`. */
export async function buildSettlePurchaseInstruction(
  params: SettlePurchaseParams,
  accounts: SettlePurchaseAccounts,
  program: SettlementProgram = createSettlementProgram(accounts.programId),
): Promise<TransactionInstruction> {
  if (params.splits.length !== accounts.recipients.length) {
    throw new DomainError(ErrorType.InvalidSplits, 'one recipient token account is required per split');
  }
  if (!program.programId.equals(accounts.programId)) {
    throw new DomainError(ErrorType.Internal, 'program and accounts.programId disagree');
  }
  const settlePurchase = program.methods['settlePurchase'];
  if (settlePurchase === undefined) throw new DomainError(ErrorType.Internal, 'IDL has no settle_purchase instruction');
  return settlePurchase(toArgs(params))
    .accountsStrict(settlePurchaseAccounts(accounts, params.purchaseId))
    .remainingAccounts(accounts.recipients.map((pubkey) => ({ pubkey, isWritable: true, isSigner: false })))
    .instruction();
}

/**
 * The same checks as the program's `validate_splits` (programs/settlement/src/splits.rs), so a bad
 * plan fails here with InvalidSplits instead of as a rejected transaction.
 */
export function assertSettlePurchaseSplits(pool: bigint, splits: readonly SettlePurchaseSplit[]): void {
  const fail = (message: string): never => {
    throw new DomainError(ErrorType.InvalidSplits, message);
  };
  if (splits.length === 0) fail('at least one split is required');
  if (splits.length > MAX_SPLITS) fail(`at most ${MAX_SPLITS} splits fit in one settlement`);
  if (pool <= 0n || pool > U64_MAX) fail('pool must be a positive u64');
  let shareSum = 0;
  let amountSum = 0n;
  for (const split of splits) {
    if (!Number.isInteger(split.shareBps) || split.shareBps <= 0 || split.shareBps > 10_000) fail('each share must be 1..10000 bps');
    if (split.amount < 0n) fail('amounts must be non-negative');
    shareSum += split.shareBps;
    amountSum += split.amount;
  }
  if (shareSum !== 10_000) fail(`shares sum to ${shareSum} bps, not 10000`);
  if (amountSum !== pool) fail('amounts must sum to the pool');
  for (const split of splits) {
    const floor = (pool * BigInt(split.shareBps)) / BPS_DENOMINATOR;
    if (split.amount !== floor && split.amount !== floor + 1n) fail('an amount is not its share of the pool');
  }
}

/**
 * SettlementRequest carries amounts but not shares. A largest-remainder split gives each payout
 * floor(pool × bps / 10000) or one more, so amount × 10000 / pool is within 10000 / pool of the
 * share: for pools above 20,000 micro-USDC (2 cents) rounding recovers each share exactly. Whatever
 * does not check out is rejected rather than guessed.
 */
export function sharesFromAmounts(amounts: readonly bigint[]): SettlePurchaseSplit[] {
  const pool = amounts.reduce((sum, amount) => sum + amount, 0n);
  if (pool <= 0n) throw new DomainError(ErrorType.InvalidSplits, 'pool must be positive');
  const splits = amounts.map((amount) => ({
    shareBps: Number((amount * BPS_DENOMINATOR * 2n + pool) / (pool * 2n)),
    amount,
  }));
  assertSettlePurchaseSplits(pool, splits);
  return splits;
}
