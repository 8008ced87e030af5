/**
 * SettlementRail for clusters where programs/settlement is deployed (rail `solana-anchor`).
 *
 * Status: this rail runs against the stack's local validator (Surfpool) with the program's SBPF v3
 * build (`npm run build:program`) deployed to it (test/chains/solana-anchor/sbf-program.test.ts and
 * the chaos run), not yet against devnet. Its decisions under failures are tested against a
 * scripted RPC (test/chains/solana-anchor/rail.test.ts).
 *
 * Idempotency (docs/architecture.md §4): the receipt PDA makes a second settlement fail on chain; before signing
 * anything this checks the receipt, then every journaled signature, and it re-signs only after the
 * previous attempt's blockhash has expired and a final status check found nothing.
 *
 * What it reports comes from the program: every settlement found or landed is read back from its
 * transaction's `PurchaseSettled` event (the NFT mint, checked against the purchase and the pool).
 */
import {
  createAssociatedTokenAccountIdempotentInstruction,
  getAssociatedTokenAddressSync,
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
} from '@solana/spl-token';
import {
  ComputeBudgetProgram,
  PACKET_DATA_SIZE,
  PublicKey,
  TransactionMessage,
  VersionedTransaction,
  type Commitment,
  type Connection,
  type Finality,
  type Keypair,
  type TransactionInstruction,
  type TransactionSignature,
} from '@solana/web3.js';
import { BN, EventParser } from '@coral-xyz/anchor';
import bs58 from 'bs58';
import { ConfigError, type Config } from '../../config';
import { DomainError, ErrorType, isDomainError } from '../../shared/errors';
import { Rail } from '../../shared/status';
import type { SettlementJournal, SettlementRail, SettlementRequest, SettlementResult } from '../rail';
import { buildSettlePurchaseInstruction, createSettlementProgram, findReceiptAddress, purchaseIdSeed, sharesFromAmounts } from './client';
import { SettlementProgramError } from './idl';
import { withRpcRetry } from '../rpc-retry';
import { RECENT_READ_TTL_MS, RecentReads } from '../solana/recent-reads';
import { railSignatureNotifications, signatureWakeup } from '../solana/signature-wakeup';

/** Recipient token accounts created per transaction when the settlement has no room for them. */
const ACCOUNTS_PER_PREPARE_TX = 4;
/** How often a sent settlement with no status yet is broadcast again while it is followed (ms). */
const REBROADCAST_MS = 2_000;

export interface SolanaAnchorRailDeps {
  connection: Connection;
  /** Signs settlements, owns the treasury's USDC account and pays rent. */
  treasury: Keypair;
  /** config.settlementProgramId (see programIdFromConfig). */
  programId: PublicKey;
  usdcMint: PublicKey;
  usdcTokenProgram?: PublicKey;
  nftTokenProgram?: PublicKey;
  commitment?: Commitment;
  computeUnitLimit?: number;
  priorityFeeCapMicroLamports?: number;
  /** How often a sent transaction's status is polled (ms). */
  pollIntervalMs?: number;
  /** Also subscribe to each sent signature, so its confirmation is read when the node announces it. */
  subscribeSignatures?: boolean;
  /** The RPC's WebSocket URL; unset, derived from the connection's (ws/wss, port + 1). */
  wsUrl?: string;
}

/** The deployed program's id for this cluster; the rail cannot run without one. */
export function programIdFromConfig(config: Pick<Config, 'settlementProgramId'>): PublicKey {
  if (config.settlementProgramId === undefined) {
    throw new ConfigError('SETTLEMENT_PROGRAM_ID', 'required for the solana-anchor rail');
  }
  try {
    return new PublicKey(config.settlementProgramId);
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

/**
 * Maps a program failure to the rail's typed errors (SettlementRail.settle's contract); the message
 * starts with the program's error name and code, e.g. `RecipientIsTreasury (6012): …`.
 */
export function settlementFailure(code: number | undefined, message: string): DomainError {
  const name = Object.entries(SettlementProgramError).find(([, c]) => c === code)?.[0];
  const text = name === undefined ? message : `${name} (${code}): ${message}`;
  if (code === SettlementProgramError.InsufficientTreasury) return new DomainError(ErrorType.InsufficientTreasury, text, { code });
  if (code !== undefined && SPLIT_ERRORS.has(code)) return new DomainError(ErrorType.InvalidSplits, text, { code });
  return new DomainError(ErrorType.SettlementRejected, text, { code });
}

/**
 * The purchase id, NFT mint and pool of a decoded `PurchaseSettled` event or `Receipt` account (the
 * coder's camelCase fields), or undefined when `data` is not of that shape.
 */
function settledFields(data: unknown): { purchaseId: Buffer; nftMint: PublicKey; pool: bigint } | undefined {
  if (typeof data !== 'object' || data === null || !('purchaseId' in data) || !('nftMint' in data) || !('pool' in data)) return undefined;
  const { purchaseId, nftMint, pool } = data;
  if (!Array.isArray(purchaseId) || !(nftMint instanceof PublicKey) || !BN.isBN(pool)) return undefined;
  return { purchaseId: Buffer.from(purchaseId), nftMint, pool: BigInt(pool.toString()) };
}

function rpcUnavailable(err: unknown): DomainError {
  if (isDomainError(err)) return err;
  return new DomainError(ErrorType.RpcUnavailable, err instanceof Error ? err.message : String(err));
}

export function createSolanaAnchorRail(deps: SolanaAnchorRailDeps): SettlementRail {
  const { connection, treasury, programId, usdcMint } = deps;
  const commitment = deps.commitment ?? 'confirmed';
  const pollIntervalMs = deps.pollIntervalMs ?? 500;
  const finality: Finality = commitment === 'finalized' ? 'finalized' : 'confirmed';
  const usdcTokenProgram = deps.usdcTokenProgram ?? TOKEN_PROGRAM_ID;
  const nftTokenProgram = deps.nftTokenProgram ?? TOKEN_2022_PROGRAM_ID;
  const treasuryUsdc = getAssociatedTokenAddressSync(usdcMint, treasury.publicKey, false, usdcTokenProgram);
  const program = createSettlementProgram(programId, connection);
  const events = new EventParser(programId, program.coder);
  const notifications = railSignatureNotifications(connection.rpcEndpoint, deps);
  /**
   * A read, tried again in place when the node did not answer (a 503, a dropped connection), so one
   * lost request does not fail the whole settlement attempt and wait out Temporal's backoff. Sends
   * are not routed here: a preflight verdict must reach the caller as it is.
   */
  const read = <T>(call: () => Promise<T>): Promise<T> => withRpcRetry(call, rpcUnavailable);
  /** Shared by every settlement of this rail for a short while (recent-reads.ts). */
  const blockhashes = new RecentReads<Commitment, Awaited<ReturnType<Connection['getLatestBlockhash']>>>(RECENT_READ_TTL_MS.blockhash);
  const priorityFees = new RecentReads<'treasury', number>(RECENT_READ_TTL_MS.priorityFees);
  const latestBlockhash = () => blockhashes.get(commitment, () => read(() => connection.getLatestBlockhash(commitment)));

  const isValidWallet = (address: string): boolean => {
    try {
      return PublicKey.isOnCurve(new PublicKey(address).toBytes());
    } catch {
      return false;
    }
  };

  /**
   * What the receipt account records, for a settlement whose logs were cut before its event: a
   * transaction's log is capped at 10,000 bytes ("Log truncated"), which the recipient accounts
   * created ahead of the settle instruction can fill. The receipt is written by the same
   * instruction, so it says the same thing.
   */
  async function settledReceipt(txId: TransactionSignature, purchaseId: string, pool: bigint, alreadySettled: boolean) {
    const [receipt] = findReceiptAddress(programId, purchaseId);
    const info = await read(() => connection.getAccountInfo(receipt, commitment));
    if (info === null) throw new DomainError(ErrorType.RpcUnavailable, `receipt ${receipt.toBase58()} is not readable yet`, { txId });
    const settled = settledFields(program.coder.accounts.decode('receipt', info.data));
    if (settled === undefined || !settled.purchaseId.equals(purchaseIdSeed(purchaseId))) {
      throw new DomainError(ErrorType.Internal, `receipt ${receipt.toBase58()} is not the receipt of ${purchaseId}`, { txId });
    }
    if (settled.pool !== pool) {
      throw new DomainError(ErrorType.Internal, `receipt ${receipt.toBase58()} records a pool of ${settled.pool}, not ${pool}`, { txId });
    }
    return { txId, nftId: settled.nftMint.toBase58(), alreadySettled };
  }

  /**
   * The `PurchaseSettled` event of a landed settlement, from its transaction's logs (or its receipt,
   * when the logs were truncated). A transaction not readable yet is the RPC lagging (retryable); an
   * event for another purchase or pool is not.
   */
  async function settledEvent(txId: TransactionSignature, purchaseId: string, pool: bigint, alreadySettled: boolean) {
    const tx = await read(() => connection.getTransaction(txId, { commitment: finality, maxSupportedTransactionVersion: 0 }));
    if (tx === null) throw new DomainError(ErrorType.RpcUnavailable, `settlement ${txId} is not readable yet`, { txId });
    const seed = purchaseIdSeed(purchaseId);
    const logs = tx.meta?.logMessages ?? [];
    for (const event of events.parseLogs(logs)) {
      // Program presents the IDL in camelCase, event names included.
      if (event.name !== 'purchaseSettled') continue;
      const settled = settledFields(event.data);
      if (settled === undefined || !settled.purchaseId.equals(seed)) continue;
      if (settled.pool !== pool) {
        throw new DomainError(ErrorType.Internal, `settlement ${txId} paid a pool of ${settled.pool}, not ${pool}`, { txId });
      }
      return { txId, nftId: settled.nftMint.toBase58(), alreadySettled };
    }
    if (tx.meta?.err === null && logs.includes('Log truncated')) return settledReceipt(txId, purchaseId, pool, alreadySettled);
    throw new DomainError(ErrorType.Internal, `settlement ${txId} has no PurchaseSettled event for ${purchaseId}`, { txId });
  }

  /**
   * The settlement that created the receipt, or undefined: the oldest successful signature touching
   * it. Failed transactions touch it too (a second attempt refused because the receipt exists), and
   * one landing in the same slot can be listed after the settlement, so only successes count.
   */
  async function settledResult(purchaseId: string, pool: bigint): Promise<SettlementResult | undefined> {
    const [receipt] = findReceiptAddress(programId, purchaseId);
    const info = await read(() => connection.getAccountInfo(receipt, commitment));
    if (info === null) return undefined;
    const signatures = await read(() => connection.getSignaturesForAddress(receipt, undefined, finality));
    const succeeded = signatures.filter((s) => s.err === null);
    const creator = succeeded[succeeded.length - 1];
    if (creator === undefined)
      throw new DomainError(ErrorType.RpcUnavailable, `receipt ${receipt.toBase58()} has no visible settlement yet`);
    return settledEvent(creator.signature, purchaseId, pool, true);
  }

  /**
   * Waits out a journaled attempt: resolves true if it landed, false once it can never land. While
   * the node has no status for it, its journaled bytes (when the journal has them) are broadcast
   * again, so an attempt whose send never reached the node (the worker died, the answer was lost)
   * lands in seconds instead of its blockhash being waited out.
   */
  async function attemptLanded(txId: TransactionSignature, validUntil: bigint, signed: Uint8Array | undefined): Promise<boolean> {
    let rebroadcastAt = 0;
    for (;;) {
      const { value } = await read(() => connection.getSignatureStatuses([txId], { searchTransactionHistory: true }));
      const status = value[0];
      if (status && status.confirmationStatus !== 'processed') {
        if (status.err === null) return true;
        return false;
      }
      const height = BigInt(await read(() => connection.getBlockHeight(commitment)));
      if (height > validUntil) {
        const final = (await read(() => connection.getSignatureStatuses([txId], { searchTransactionHistory: true }))).value[0];
        return final !== null && final !== undefined && final.err === null;
      }
      if (!status && signed && Date.now() >= rebroadcastAt) {
        rebroadcastAt = Date.now() + REBROADCAST_MS;
        await connection.sendRawTransaction(signed, { skipPreflight: true, maxRetries: 0 }).catch(() => undefined);
      }
      await new Promise((resolve) => setTimeout(resolve, signed ? pollIntervalMs : 2_000));
    }
  }

  function priorityFee(): Promise<number> {
    return priorityFees.get('treasury', async () => {
      const cap = deps.priorityFeeCapMicroLamports ?? 100_000;
      const fees = await read(() => connection.getRecentPrioritizationFees({ lockedWritableAccounts: [treasuryUsdc] }));
      const sorted = fees.map((f) => f.prioritizationFee).sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
      return Math.min(median, cap);
    });
  }

  /**
   * Follows a sent transaction until the cluster reports it at our commitment (its error, or null)
   * or its blockhash has expired with no trace of it. Polls instead of web3.js's confirmTransaction,
   * whose racing requests reject unhandled when the RPC fails mid-way. While the node has no status
   * for it, the signed bytes are broadcast again every REBROADCAST_MS (as wallets do with
   * `maxRetries: 0`): a send the node dropped lands in seconds instead of waiting out the blockhash
   * (a minute at 400 ms slots). The same bytes have the same signature, so at most one copy lands.
   */
  async function awaitStatus(txId: TransactionSignature, lastValidBlockHeight: number, signed: Uint8Array): Promise<unknown> {
    const wakeup = signatureWakeup(notifications, txId, commitment);
    let rebroadcastAt = Date.now() + REBROADCAST_MS;
    try {
      for (;;) {
        const status = (await read(() => connection.getSignatureStatuses([txId]))).value[0];
        if (status && (commitment === 'processed' || status.confirmationStatus !== 'processed')) return status.err;
        if ((await read(() => connection.getBlockHeight(commitment))) > lastValidBlockHeight) {
          const final = (await read(() => connection.getSignatureStatuses([txId], { searchTransactionHistory: true }))).value[0];
          if (final) return final.err;
          throw new DomainError(ErrorType.BlockhashExpired, `${txId} expired unconfirmed`, { txId });
        }
        if (!status && Date.now() >= rebroadcastAt) {
          rebroadcastAt = Date.now() + REBROADCAST_MS;
          // Best effort: a lost answer or an expired blockhash shows in the next status read.
          await connection.sendRawTransaction(signed, { skipPreflight: true, maxRetries: 0 }).catch(() => undefined);
        }
        await wakeup.sleep(pollIntervalMs);
      }
    } finally {
      wakeup.close();
    }
  }

  const createRecipientAccount = ({ owner, account }: { owner: PublicKey; account: PublicKey }) =>
    createAssociatedTokenAccountIdempotentInstruction(treasury.publicKey, account, owner, usdcMint, usdcTokenProgram);

  /** A v0 transaction of these instructions paid by the treasury, or undefined when it exceeds a packet. */
  function compileSettlement(instructions: TransactionInstruction[], recentBlockhash: string): VersionedTransaction | undefined {
    try {
      const tx = new VersionedTransaction(
        new TransactionMessage({ payerKey: treasury.publicKey, recentBlockhash, instructions }).compileToV0Message(),
      );
      return tx.serialize().length <= PACKET_DATA_SIZE ? tx : undefined;
    } catch {
      return undefined;
    }
  }

  /** Creates recipients' USDC accounts ahead of a settlement with no room for them, a few per transaction. */
  async function createRecipientAccounts(missing: { owner: PublicKey; account: PublicKey }[]): Promise<void> {
    for (let i = 0; i < missing.length; i += ACCOUNTS_PER_PREPARE_TX) {
      const latest = await latestBlockhash();
      const tx = new VersionedTransaction(
        new TransactionMessage({
          payerKey: treasury.publicKey,
          recentBlockhash: latest.blockhash,
          instructions: missing.slice(i, i + ACCOUNTS_PER_PREPARE_TX).map(createRecipientAccount),
        }).compileToV0Message(),
      );
      tx.sign([treasury]);
      const signed = tx.serialize();
      const sent = await connection.sendRawTransaction(signed, { preflightCommitment: commitment, maxRetries: 0 });
      const err = await awaitStatus(sent, latest.lastValidBlockHeight, signed);
      if (err !== null)
        throw new DomainError(ErrorType.RpcUnavailable, `creating recipient accounts failed (${sent}): ${JSON.stringify(err)}`);
    }
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
    // The program mints a bare Token-2022 NFT at its mint PDA: request.nft (name, symbol, uri) is
    // not written on chain by this rail yet.

    try {
      const existing = await settledResult(purchaseId, pool);
      if (existing) return existing;
      const attempts = [...(await journal.attempts(purchaseId))].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
      for (const attempt of attempts) {
        if (await attemptLanded(attempt.txId, attempt.validUntil, attempt.signedTx))
          return await settledEvent(attempt.txId, purchaseId, pool, true);
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
    let signed: Uint8Array;
    let lastValidBlockHeight = 0;
    try {
      const budget = [
        ComputeBudgetProgram.setComputeUnitLimit({ units: deps.computeUnitLimit ?? 600_000 }),
        ComputeBudgetProgram.setComputeUnitPrice({ microLamports: await priorityFee() }),
      ];
      const compile = async (creating: typeof payees) => {
        const latest = await latestBlockhash();
        lastValidBlockHeight = latest.lastValidBlockHeight;
        return compileSettlement([...budget, ...creating.map(createRecipientAccount), settleIx], latest.blockhash);
      };
      // Recipient accounts that do not exist yet are created in the settlement itself when they fit,
      // else first in small transactions of their own (those move rent only, never USDC).
      const infos = await read(() => connection.getMultipleAccountsInfo(recipients, commitment));
      const missing = payees.filter((_, i) => infos[i] === null || infos[i] === undefined);
      let tx = await compile(missing);
      if (tx === undefined && missing.length > 0) {
        await createRecipientAccounts(missing);
        tx = await compile([]);
      }
      if (tx === undefined) {
        throw new DomainError(ErrorType.InvalidSplits, `${payees.length} payouts do not fit in one settlement transaction`);
      }
      tx.sign([treasury]);
      const firstSignature = tx.signatures[0];
      if (firstSignature === undefined) throw new DomainError(ErrorType.Internal, 'transaction was not signed');
      signature = bs58.encode(firstSignature);
      // Journal before sending, with the signed bytes, so a crash between send and confirm is found
      // (and the same bytes broadcast again) by the next try.
      signed = tx.serialize();
      await journal.recordAttempt({ purchaseId, txId: signature, validUntil: BigInt(lastValidBlockHeight), signedTx: signed });
      await connection.sendRawTransaction(signed, { preflightCommitment: commitment, maxRetries: 0 });
    } catch (err) {
      const logs = (err as { logs?: string[] }).logs ?? [];
      const code = customErrorCode((err as { transactionError?: unknown }).transactionError, logs);
      if (code !== undefined) throw settlementFailure(code, err instanceof Error ? err.message : String(err));
      throw rpcUnavailable(err);
    }

    try {
      const err = await awaitStatus(signature, lastValidBlockHeight, signed);
      if (err !== null) {
        const landed = await settledResult(purchaseId, pool);
        if (landed) return landed;
        throw settlementFailure(customErrorCode(err), `settlement ${signature} failed: ${JSON.stringify(err)}`);
      }
      return await settledEvent(signature, purchaseId, pool, false);
    } catch (err) {
      throw rpcUnavailable(err);
    }
  }

  return {
    rail: Rail.SolanaAnchor,
    isValidWallet,
    async treasuryBalanceMicroUsdc() {
      try {
        const info = await read(() => connection.getAccountInfo(treasuryUsdc, commitment));
        if (info === null) return 0n;
        const { value } = await read(() => connection.getTokenAccountBalance(treasuryUsdc, commitment));
        return BigInt(value.amount);
      } catch (err) {
        throw rpcUnavailable(err);
      }
    },
    settle,
    async ping() {
      try {
        const info = await read(() => connection.getAccountInfo(programId, commitment));
        if (info === null || !info.executable) {
          throw new DomainError(ErrorType.RpcUnavailable, `settlement program ${programId.toBase58()} is not deployed on this cluster`);
        }
      } catch (err) {
        throw rpcUnavailable(err);
      }
    },
  };
}
