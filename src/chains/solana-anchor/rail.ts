/**
 * SettlementRail for clusters where programs/settlement is deployed (rail `solana-anchor`).
 *
 * Status: this rail has run against the local chain (litesvm behind JSON-RPC) with the program's
 * SBPF v3 build (`npm run build:program`; test/chains/solana-anchor/sbf-program.test.ts), not yet
 * against a validator. Its decisions under failures are tested against a scripted RPC
 * (test/chains/solana-anchor/rail.test.ts).
 *
 * Idempotency (docs/architecture.md §4): the receipt PDA makes a second settlement fail on chain; before signing
 * anything this checks the receipt, then every journaled signature, and it re-signs only after the
 * previous attempt's blockhash has expired and a final status check found nothing.
 */
import {
  createAssociatedTokenAccountIdempotentInstruction,
  getAssociatedTokenAddressSync,
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
} from '@solana/spl-token';
import {
  ComputeBudgetProgram,
  PublicKey,
  TransactionExpiredBlockheightExceededError,
  TransactionMessage,
  VersionedTransaction,
  type Commitment,
  type Connection,
  type Finality,
  type Keypair,
  type TransactionSignature,
} from '@solana/web3.js';
import bs58 from 'bs58';
import { ConfigError, type Config } from '../../config';
import { DomainError, ErrorType, isDomainError } from '../../shared/errors';
import { Rail } from '../../shared/status';
import type { SettlementJournal, SettlementRail, SettlementRequest, SettlementResult } from '../rail';
import {
  buildSettlePurchaseInstruction,
  createSettlementProgram,
  findNftMintAddress,
  findReceiptAddress,
  sharesFromAmounts,
} from './client';
import { SettlementProgramError } from './idl';

export interface SolanaAnchorRailDeps {
  connection: Connection;
  /** Signs settlements, owns the treasury's USDC account and pays rent. */
  treasury: Keypair;
  /** config.SETTLEMENT_PROGRAM_ID (see programIdFromConfig). */
  programId: PublicKey;
  usdcMint: PublicKey;
  usdcTokenProgram?: PublicKey;
  nftTokenProgram?: PublicKey;
  commitment?: Commitment;
  computeUnitLimit?: number;
  priorityFeeCapMicroLamports?: number;
}

/** The deployed program's id for this cluster; the rail cannot run without one. */
export function programIdFromConfig(config: Pick<Config, 'SETTLEMENT_PROGRAM_ID'>): PublicKey {
  if (config.SETTLEMENT_PROGRAM_ID === undefined) {
    throw new ConfigError('SETTLEMENT_PROGRAM_ID', 'required for the solana-anchor rail');
  }
  try {
    return new PublicKey(config.SETTLEMENT_PROGRAM_ID);
  } catch {
    throw new ConfigError('SETTLEMENT_PROGRAM_ID', 'must be a base58 public key');
  }
}

const SPLIT_ERRORS = new Set<number>([
  SettlementProgramError.NoSplits,
  SettlementProgramError.TooManySplits,
  SettlementProgramError.InvalidShare,
  SettlementProgramError.SharesNotWhole,
  SettlementProgramError.AmountsNotPool,
  SettlementProgramError.AmountNotProportional,
  SettlementProgramError.ArithmeticOverflow,
  SettlementProgramError.EmptyPool,
  SettlementProgramError.RecipientCountMismatch,
]);

/** The custom error code of a failed transaction, from its TransactionError or its logs. */
export function customErrorCode(err: unknown, logs: readonly string[] = []): number | undefined {
  const instructionError = (err as { InstructionError?: [number, unknown] } | null)?.InstructionError;
  const detail = instructionError?.[1] as { Custom?: unknown } | undefined;
  if (typeof detail?.Custom === 'number') return detail.Custom;
  for (const line of logs) {
    const match = /custom program error: 0x([0-9a-f]+)/i.exec(line) ?? /Error Number: (\d+)\./.exec(line);
    if (match?.[1] !== undefined) return match[0].startsWith('custom') ? parseInt(match[1], 16) : Number(match[1]);
  }
  return undefined;
}

/** Maps a program failure to the rail's typed errors (SettlementRail.settle's contract). */
export function settlementFailure(code: number | undefined, message: string): DomainError {
  if (code === SettlementProgramError.InsufficientTreasury) return new DomainError(ErrorType.InsufficientTreasury, message, { code });
  if (code !== undefined && SPLIT_ERRORS.has(code)) return new DomainError(ErrorType.InvalidSplits, message, { code });
  return new DomainError(ErrorType.SettlementRejected, message, { code });
}

function rpcUnavailable(err: unknown): DomainError {
  if (isDomainError(err)) return err;
  return new DomainError(ErrorType.RpcUnavailable, err instanceof Error ? err.message : String(err));
}

export function createSolanaAnchorRail(deps: SolanaAnchorRailDeps): SettlementRail {
  const { connection, treasury, programId, usdcMint } = deps;
  const commitment = deps.commitment ?? 'confirmed';
  const finality: Finality = commitment === 'finalized' ? 'finalized' : 'confirmed';
  const usdcTokenProgram = deps.usdcTokenProgram ?? TOKEN_PROGRAM_ID;
  const nftTokenProgram = deps.nftTokenProgram ?? TOKEN_2022_PROGRAM_ID;
  const treasuryUsdc = getAssociatedTokenAddressSync(usdcMint, treasury.publicKey, false, usdcTokenProgram);
  const program = createSettlementProgram(programId, connection);

  const isValidWallet = (address: string): boolean => {
    try {
      return PublicKey.isOnCurve(new PublicKey(address).toBytes());
    } catch {
      return false;
    }
  };

  /** The settlement that created the receipt: the oldest signature touching it. */
  async function settledResult(purchaseId: string): Promise<SettlementResult | undefined> {
    const [receipt] = findReceiptAddress(programId, purchaseId);
    const info = await connection.getAccountInfo(receipt, commitment);
    if (info === null) return undefined;
    const signatures = await connection.getSignaturesForAddress(receipt, undefined, finality);
    const oldest = signatures[signatures.length - 1];
    return { txId: oldest?.signature ?? '', nftId: findNftMintAddress(programId, purchaseId)[0].toBase58(), alreadySettled: true };
  }

  /** Waits out a journaled attempt: resolves true if it landed, false once it can never land. */
  async function attemptLanded(txId: TransactionSignature, validUntil: bigint): Promise<boolean> {
    for (;;) {
      const { value } = await connection.getSignatureStatuses([txId], { searchTransactionHistory: true });
      const status = value[0];
      if (status && status.confirmationStatus !== 'processed') {
        if (status.err === null) return true;
        return false;
      }
      const height = BigInt(await connection.getBlockHeight(commitment));
      if (height > validUntil) {
        const final = (await connection.getSignatureStatuses([txId], { searchTransactionHistory: true })).value[0];
        return final !== null && final !== undefined && final.err === null;
      }
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  }

  async function priorityFee(): Promise<number> {
    const cap = deps.priorityFeeCapMicroLamports ?? 100_000;
    const fees = await connection.getRecentPrioritizationFees({ lockedWritableAccounts: [treasuryUsdc] });
    const sorted = fees.map((f) => f.prioritizationFee).sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    return Math.min(median, cap);
  }

  async function settle(request: SettlementRequest, journal: SettlementJournal): Promise<SettlementResult> {
    const { purchaseId } = request;
    if (!isValidWallet(request.buyerWallet)) throw new DomainError(ErrorType.InvalidWallet, 'buyer wallet is not a Solana wallet');
    for (const payout of request.payouts) {
      if (!isValidWallet(payout.wallet))
        throw new DomainError(ErrorType.InvalidWallet, `payout wallet ${payout.wallet} is not a Solana wallet`);
    }
    if (new Set(request.payouts.map((p) => p.wallet)).size !== request.payouts.length) {
      // The program pays token accounts and refuses to pay one twice.
      throw new DomainError(ErrorType.InvalidSplits, 'each payout wallet may appear once');
    }
    // Checks the plan the way the program will (assertSettlePurchaseSplits) or throws InvalidSplits.
    const splits = sharesFromAmounts(request.payouts.map((p) => p.amountMicroUsdc));
    const pool = splits.reduce((sum, s) => sum + s.amount, 0n);
    // The program mints a bare Token-2022 NFT: request.nft (name, symbol, uri) is not written on
    // chain by this rail yet. The NFT is identified by its mint PDA.
    const nftId = findNftMintAddress(programId, purchaseId)[0].toBase58();

    try {
      const existing = await settledResult(purchaseId);
      if (existing) return existing;
      const attempts = [...(await journal.attempts(purchaseId))].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
      for (const attempt of attempts) {
        if (await attemptLanded(attempt.txId, attempt.validUntil)) return { txId: attempt.txId, nftId, alreadySettled: true };
      }
    } catch (err) {
      throw rpcUnavailable(err);
    }

    const payees = request.payouts.map((p) => {
      const owner = new PublicKey(p.wallet);
      return { owner, account: getAssociatedTokenAddressSync(usdcMint, owner, false, usdcTokenProgram) };
    });
    const recipients = payees.map((payee) => payee.account);
    const settleIx = await buildSettlePurchaseInstruction(
      { purchaseId, pool, splits },
      {
        programId,
        treasury: treasury.publicKey,
        buyer: new PublicKey(request.buyerWallet),
        usdcMint,
        treasuryUsdc,
        recipients,
        usdcTokenProgram,
        nftTokenProgram,
      },
      program,
    );

    let signature: TransactionSignature;
    let blockhash: string;
    let lastValidBlockHeight: number;
    try {
      ({ blockhash, lastValidBlockHeight } = await connection.getLatestBlockhash(commitment));
      const instructions = [
        ComputeBudgetProgram.setComputeUnitLimit({ units: deps.computeUnitLimit ?? 600_000 }),
        ComputeBudgetProgram.setComputeUnitPrice({ microLamports: await priorityFee() }),
        ...payees.map(({ owner, account }) =>
          createAssociatedTokenAccountIdempotentInstruction(treasury.publicKey, account, owner, usdcMint, usdcTokenProgram),
        ),
        settleIx,
      ];
      const message = new TransactionMessage({
        payerKey: treasury.publicKey,
        recentBlockhash: blockhash,
        instructions,
      }).compileToV0Message();
      const tx = new VersionedTransaction(message);
      tx.sign([treasury]);
      const firstSignature = tx.signatures[0];
      if (firstSignature === undefined) throw new DomainError(ErrorType.Internal, 'transaction was not signed');
      signature = bs58.encode(firstSignature);
      // Journal before sending, so a crash between send and confirm is found by the next try.
      await journal.recordAttempt({ purchaseId, txId: signature, validUntil: BigInt(lastValidBlockHeight) });
      await connection.sendRawTransaction(tx.serialize(), { preflightCommitment: commitment, maxRetries: 0 });
    } catch (err) {
      const logs = (err as { logs?: string[] }).logs ?? [];
      const code = customErrorCode((err as { transactionError?: unknown }).transactionError, logs);
      if (code !== undefined) throw settlementFailure(code, err instanceof Error ? err.message : String(err));
      throw rpcUnavailable(err);
    }

    try {
      const { value } = await connection.confirmTransaction({ signature, blockhash, lastValidBlockHeight }, commitment);
      if (value.err !== null) {
        const landed = await settledResult(purchaseId);
        if (landed) return landed;
        throw settlementFailure(customErrorCode(value.err), `settlement ${signature} failed: ${JSON.stringify(value.err)}`);
      }
      return { txId: signature, nftId, alreadySettled: false };
    } catch (err) {
      if (err instanceof TransactionExpiredBlockheightExceededError) {
        throw new DomainError(ErrorType.BlockhashExpired, `settlement ${signature} expired unconfirmed`, { txId: signature });
      }
      throw rpcUnavailable(err);
    }
  }

  return {
    rail: Rail.SolanaAnchor,
    isValidWallet,
    async treasuryBalanceMicroUsdc() {
      try {
        const info = await connection.getAccountInfo(treasuryUsdc, commitment);
        if (info === null) return 0n;
        const { value } = await connection.getTokenAccountBalance(treasuryUsdc, commitment);
        return BigInt(value.amount);
      } catch (err) {
        throw rpcUnavailable(err);
      }
    },
    settle,
    async ping() {
      try {
        const info = await connection.getAccountInfo(programId, commitment);
        if (info === null || !info.executable) {
          throw new DomainError(ErrorType.RpcUnavailable, `settlement program ${programId.toBase58()} is not deployed on this cluster`);
        }
      } catch (err) {
        throw rpcUnavailable(err);
      }
    },
  };
}
