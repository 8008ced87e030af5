/**
 * The Solana settlement rail: one atomic v0 transaction per purchase (docs/architecture.md §6), at most once
 * (docs/architecture.md §4): deterministic NFT mint address, signature and signed bytes journaled before
 * sending, rebroadcast of those bytes while their blockhash is valid, and a retry that re-signs only after
 * the previous blockhash has provably expired.
 */
import {
  AddressLookupTableAccount,
  type Commitment,
  Connection,
  type Keypair,
  PACKET_DATA_SIZE,
  PublicKey,
  type SignatureStatus,
  type TransactionInstruction,
  TransactionMessage,
  VersionedTransaction,
} from '@solana/web3.js';
import { TOKEN_2022_PROGRAM_ID, createAssociatedTokenAccountIdempotentInstruction, unpackAccount, unpackMint } from '@solana/spl-token';
import bs58 from 'bs58';
import type { SettlementJournal, SettlementRail, SettlementRequest, SettlementResult } from '../rail';
import { DomainError, ErrorType } from '../../shared/errors';
import { PURCHASE_ID_PATTERN } from '../../shared/ids';
import { Rail } from '../../shared/status';
import { withRpcRetry } from '../rpc-retry';
import { ALREADY_PROCESSED, chainFailureToDomainError, isMintAlreadyExists, preflightFailureOf, toDomainError } from './errors';
import { associatedTokenAddress } from './derivations';
import { deriveNftMintKeypair, isValidSolanaWallet } from './keys';
import { LookupTables } from './lookup-tables';
import { buyerNftAccount, lookupCandidates, nftMintSizes, settlementInstructions } from './settlement-tx';
import { RECENT_READ_TTL_MS, RecentReads } from './recent-reads';
import { railSignatureNotifications, signatureWakeup } from './signature-wakeup';

/**
 * Most payouts one settlement transaction is guaranteed to carry, measured against the local chain
 * (Surfpool running the real Token, Token-2022 and ATA programs; test/chains/solana/capacity.test.ts)
 * with the largest metadata we accept (name 32, symbol 10, uri 200 bytes): 12 fit in the 1232-byte
 * packet, 13 do not. The packet, not compute or account locks, is the binding limit. With short
 * metadata (8-byte name, 31-byte uri) 23 fit.
 * Products with more collaborators are rejected up front as invalid splits.
 */
export const MAX_SOLANA_PAYOUTS = 12;

const U64_MAX = (1n << 64n) - 1n;
/**
 * Validators cap a transaction's instruction trace (top-level plus CPI instructions) at 64. Creating
 * an ATA costs the create plus about four CPIs; an existing one returns early with none. The NFT part
 * uses 9 top-level instructions plus the buyer's ATA.
 */
const MAX_INSTRUCTION_TRACE = 64;
const ATA_CREATE_CPIS = 5;
const NFT_TRACE = 9 + 1 + ATA_CREATE_CPIS;
const ATAS_PER_PREPARE_TX = 4;
const SIGNATURE_FEE_LAMPORTS = 5000;
const COMMITMENT_RANK: Record<string, number> = { processed: 0, confirmed: 1, finalized: 2 };

export interface SolanaRailLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface SolanaRailDeps {
  /** Either a ready Connection or the HTTP URL to build one from. */
  connection?: Connection;
  rpcUrl?: string;
  commitment: 'processed' | 'confirmed' | 'finalized';
  treasury: Keypair;
  usdcMint: PublicKey;
  nftMintSeed: string;
  priorityFeeCapMicroLamports: number;
  computeUnitLimit: number;
  logger?: SolanaRailLogger;
  /** Per-request HTTP timeout (default 15 s). */
  rpcTimeoutMs?: number;
  /** How long confirmation tolerates an RPC that keeps failing before giving up (default 30 s). */
  rpcFailureBudgetMs?: number;
  /** Status poll interval while confirming (default 400 ms, one slot). */
  pollIntervalMs?: number;
  /**
   * Also subscribe to each sent signature over the RPC's WebSocket, so a confirmation is read as
   * soon as the node announces it rather than at the next poll (signature-wakeup.ts).
   */
  subscribeSignatures?: boolean;
  /** The RPC's WebSocket URL; unset, web3.js derives it from the HTTP URL (ws/wss, port + 1). */
  wsUrl?: string;
  /** How often a transaction with no status yet is broadcast again while confirming (default 2 s). */
  rebroadcastIntervalMs?: number;
  /** Override of MAX_SOLANA_PAYOUTS, only for measuring capacity. */
  maxPayouts?: number;
}

export interface SolanaRail extends SettlementRail {
  readonly connection: Connection;
  /** The deterministic NFT mint address a purchase settles to. */
  nftMintFor(purchaseId: string): PublicKey;
  /** The treasury's USDC associated token account. */
  treasuryUsdcAccount(): Promise<PublicKey>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * fetch with a per-request timeout, for `new Connection(url, { fetch })`. A request that dies on a
 * stale keep-alive socket (the RPC restarted) is retried once: every Solana RPC call is a read or a
 * signature-idempotent send, so repeating it is safe.
 */
export function timeoutFetch(ms: number): typeof fetch {
  return async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await fetch(input, { ...init, signal: AbortSignal.timeout(ms) });
      } catch (err) {
        const cause = err as { message?: string; cause?: { code?: string } };
        const code = cause.cause?.code;
        if (attempt === 0 && (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET')) continue;
        // web3.js only reports failures that pass `instanceof Error`; fetch's own errors can come from
        // another realm (e.g. under jest), and then web3.js would wait forever for the callback.
        throw new Error(`${cause.message ?? 'fetch failed'}${code ? ` (${code})` : ''}`);
      }
    }
  };
}

/** A Connection as the rails use it: commitment, a per-request timeout, no silent 429 retries. */
export function solanaConnection(rpcUrl: string, opts: { commitment: Commitment; rpcTimeoutMs?: number | undefined }): Connection {
  return new Connection(rpcUrl, {
    commitment: opts.commitment,
    disableRetryOnRateLimit: true,
    fetch: timeoutFetch(opts.rpcTimeoutMs ?? 15_000),
  });
}

export function createSolanaRail(deps: SolanaRailDeps): SolanaRail {
  if (!deps.connection && !deps.rpcUrl) throw new Error('createSolanaRail needs connection or rpcUrl');
  const commitment: Commitment = deps.commitment;
  const connection = deps.connection ?? solanaConnection(deps.rpcUrl ?? '', { commitment, rpcTimeoutMs: deps.rpcTimeoutMs });
  const notifications = railSignatureNotifications(connection.rpcEndpoint, deps);
  const treasury = deps.treasury;
  const log = deps.logger;
  const pollMs = deps.pollIntervalMs ?? 400;
  const rebroadcastMs = deps.rebroadcastIntervalMs ?? 2_000;
  const failureBudgetMs = deps.rpcFailureBudgetMs ?? 30_000;
  let usdcProgram: PublicKey | undefined;
  const blockhashes = new RecentReads<Commitment, Awaited<ReturnType<Connection['getLatestBlockhash']>>>(RECENT_READ_TTL_MS.blockhash);
  const priorityFees = new RecentReads<'treasury', number>(RECENT_READ_TTL_MS.priorityFees);
  const rents = new RecentReads<number, number>(RECENT_READ_TTL_MS.rent);

  /**
   * One RPC call. A call the node did not answer (a 503, a dropped connection) is tried again in
   * place a few times before the whole settlement fails over it: every call made through here is a
   * read or a resend of signed bytes, so repeating it is safe. Chain verdicts are never retried here.
   */
  const rpc = <T>(context: Record<string, unknown>, call: () => Promise<T>): Promise<T> =>
    withRpcRetry(call, (err) => toDomainError(err, context));

  const latestBlockhash = (context: Record<string, unknown>) =>
    blockhashes.get(commitment, () => rpc(context, () => connection.getLatestBlockhash(commitment)));
  const rentExemption = (space: number, context: Record<string, unknown>) =>
    rents.get(space, () => rpc(context, () => connection.getMinimumBalanceForRentExemption(space)));

  const usdcProgramId = async (): Promise<PublicKey> => {
    if (usdcProgram) return usdcProgram;
    const info = await rpc({ op: 'getUsdcMint' }, () => connection.getAccountInfo(deps.usdcMint));
    if (!info) throw new DomainError(ErrorType.SettlementRejected, `USDC mint ${deps.usdcMint.toBase58()} does not exist on this chain`);
    usdcProgram = info.owner;
    return usdcProgram;
  };

  const treasuryUsdcAccount = async () => associatedTokenAddress(deps.usdcMint, treasury.publicKey, true, await usdcProgramId());

  const meets = (status: SignatureStatus) =>
    (COMMITMENT_RANK[status.confirmationStatus ?? 'processed'] ?? 0) >= (COMMITMENT_RANK[commitment] ?? 1);

  type Outcome = { landed: true; err: unknown; slot: number } | { landed: false };

  /**
   * Blockhash-bounded confirmation: a status, or proof of expiry plus a final history search. While
   * the node has no status for it, the signed bytes (when known) are broadcast again every
   * `rebroadcastMs`, as wallets do with `maxRetries: 0`: a send the node dropped, or never received
   * because the worker died or the request was lost, lands in seconds instead of waiting out the
   * blockhash. The same bytes have the same signature, so at most one copy can land.
   */
  const waitForSignature = async (
    signature: string,
    lastValidBlockHeight: number,
    rebroadcast?: { signed: Uint8Array; justSent: boolean },
  ): Promise<Outcome> => {
    const signed = rebroadcast?.signed;
    let failingSince: number | undefined;
    let rebroadcastAt = !rebroadcast ? Infinity : rebroadcast.justSent ? Date.now() + rebroadcastMs : 0;
    const wakeup = signatureWakeup(notifications, signature, commitment);
    try {
      for (;;) {
        try {
          const status = (await connection.getSignatureStatuses([signature])).value[0];
          if (status && meets(status)) return { landed: true, err: status.err, slot: status.slot };
          if (!status) {
            const height = await connection.getBlockHeight(commitment);
            if (height > lastValidBlockHeight) {
              const final = (await connection.getSignatureStatuses([signature], { searchTransactionHistory: true })).value[0];
              if (!final) return { landed: false };
              if (meets(final)) return { landed: true, err: final.err, slot: final.slot };
            } else if (signed && Date.now() >= rebroadcastAt) {
              rebroadcastAt = Date.now() + rebroadcastMs;
              // Best effort: a lost answer or an expired blockhash shows in the next status read.
              await connection.sendRawTransaction(signed, { skipPreflight: true, maxRetries: 0 }).catch(() => undefined);
            }
          }
          failingSince = undefined;
        } catch (err) {
          failingSince ??= Date.now();
          if (Date.now() - failingSince > failureBudgetMs) throw toDomainError(err, { op: 'confirm', signature });
        }
        await wakeup.sleep(pollMs);
      }
    } finally {
      wakeup.close();
    }
  };

  /**
   * Send signed bytes. AlreadyProcessed means these very bytes are on chain: a resend after a lost
   * answer, or an identical transaction another settlement signed in the same blockhash window (two
   * purchases of one product creating the same recipient accounts). Its status tells the outcome.
   */
  const send = async (tx: VersionedTransaction, context: Record<string, unknown>): Promise<void> => {
    try {
      await connection.sendRawTransaction(tx.serialize(), { skipPreflight: false, preflightCommitment: commitment, maxRetries: 0 });
    } catch (err) {
      if (preflightFailureOf(err)?.err === ALREADY_PROCESSED) return;
      throw toDomainError(err, context);
    }
  };

  const sendAndWait = async (tx: VersionedTransaction, lastValidBlockHeight: number, context: Record<string, unknown>): Promise<number> => {
    const signature = bs58.encode(tx.signatures[0] ?? new Uint8Array());
    await send(tx, context);
    const outcome = await waitForSignature(signature, lastValidBlockHeight, { signed: tx.serialize(), justSent: true });
    if (!outcome.landed) throw new DomainError(ErrorType.BlockhashExpired, 'transaction expired before landing', { ...context, signature });
    if (outcome.err !== null) throw chainFailureToDomainError({ err: outcome.err, logs: [] }, { ...context, signature });
    return outcome.slot;
  };

  const lookupTables = new LookupTables(
    connection,
    treasury,
    async (ixs) => {
      const { blockhash, lastValidBlockHeight } = await latestBlockhash({ op: 'lookupTable' });
      const msg = new TransactionMessage({
        payerKey: treasury.publicKey,
        recentBlockhash: blockhash,
        instructions: ixs,
      }).compileToV0Message();
      const tx = new VersionedTransaction(msg);
      tx.sign([treasury]);
      return sendAndWait(tx, lastValidBlockHeight, { op: 'lookupTable' });
    },
    sleep,
  );

  const validate = (request: SettlementRequest): { buyer: PublicKey; payouts: { wallet: PublicKey; amount: bigint }[]; total: bigint } => {
    if (!PURCHASE_ID_PATTERN.test(request.purchaseId)) {
      throw new DomainError(ErrorType.ValidationFailed, 'purchaseId has an invalid format');
    }
    if (!isValidSolanaWallet(request.buyerWallet)) {
      throw new DomainError(ErrorType.InvalidWallet, 'buyer wallet is not a Solana ed25519 public key', { wallet: request.buyerWallet });
    }
    const { name, symbol, uri } = request.nft;
    if (name.length === 0 || Buffer.byteLength(name) > 32 || Buffer.byteLength(symbol) > 10 || Buffer.byteLength(uri) > 200) {
      throw new DomainError(ErrorType.ValidationFailed, 'NFT metadata must have a name of 1-32 bytes, symbol up to 10 and uri up to 200');
    }
    if (request.payouts.length === 0) throw new DomainError(ErrorType.InvalidSplits, 'at least one payout is required');
    const maxPayouts = deps.maxPayouts ?? MAX_SOLANA_PAYOUTS;
    if (request.payouts.length > maxPayouts) {
      throw new DomainError(ErrorType.InvalidSplits, `at most ${maxPayouts} payouts fit in one Solana settlement`, {
        count: request.payouts.length,
      });
    }
    let total = 0n;
    const payouts = request.payouts.map((p) => {
      if (!isValidSolanaWallet(p.wallet))
        throw new DomainError(ErrorType.InvalidWallet, 'payout wallet is not a Solana ed25519 public key', { wallet: p.wallet });
      if (typeof p.amountMicroUsdc !== 'bigint' || p.amountMicroUsdc < 0n || p.amountMicroUsdc > U64_MAX) {
        throw new DomainError(ErrorType.ValidationFailed, 'payout amount must be a u64 micro-USDC bigint');
      }
      total += p.amountMicroUsdc;
      return { wallet: new PublicKey(p.wallet), amount: p.amountMicroUsdc };
    });
    if (total > U64_MAX) throw new DomainError(ErrorType.ValidationFailed, 'payout total exceeds u64');
    return { buyer: new PublicKey(request.buyerWallet), payouts, total };
  };

  /** The chain's own answer to "did this purchase settle?", independent of any journal. */
  const findOnChainSettlement = async (
    mint: PublicKey,
    buyer: PublicKey,
    context: Record<string, unknown>,
  ): Promise<string | undefined> => {
    const info = await rpc(context, () => connection.getAccountInfo(mint, commitment));
    if (!info) return undefined;
    if (!info.owner.equals(TOKEN_2022_PROGRAM_ID)) {
      throw new DomainError(ErrorType.SettlementRejected, 'the NFT mint address is held by another program', {
        ...context,
        owner: info.owner.toBase58(),
      });
    }
    const state = unpackMint(mint, info, TOKEN_2022_PROGRAM_ID);
    const holder = buyerNftAccount(mint, buyer);
    const holderInfo = await rpc(context, () => connection.getAccountInfo(holder, commitment));
    const held = holderInfo ? unpackAccount(holder, holderInfo, TOKEN_2022_PROGRAM_ID).amount : 0n;
    if (state.supply !== 1n || state.mintAuthority !== null || held !== 1n) {
      throw new DomainError(ErrorType.SettlementRejected, "the NFT mint exists but does not hold this purchase's settlement", {
        ...context,
        supply: state.supply.toString(),
        buyerHolds: held.toString(),
      });
    }
    const history = await rpc(context, () => connection.getSignaturesForAddress(mint, { limit: 100 }, 'confirmed')).catch(() => []);
    // The mint's first successful transaction is the settlement: it created the account.
    const created = [...history].reverse().find((h) => h.err === null);
    return created?.signature ?? '';
  };

  /** What earlier attempts left behind: a settlement to report, or nothing that may still land. */
  const resolvePrior = async (
    request: SettlementRequest,
    journal: SettlementJournal,
    mint: PublicKey,
    buyer: PublicKey,
  ): Promise<SettlementResult | undefined> => {
    const context = { purchaseId: request.purchaseId, nftMint: mint.toBase58() };
    const nftId = mint.toBase58();
    const attempts = await journal.attempts(request.purchaseId);
    if (attempts.length > 0) {
      const signatures = attempts.map((a) => a.txId);
      // getSignatureStatuses takes at most 256 signatures; a purchase never gets near that many attempts.
      const statuses = await rpc(context, () => connection.getSignatureStatuses(signatures, { searchTransactionHistory: true }));
      for (const [i, status] of statuses.value.entries()) {
        const attempt = attempts[i];
        if (!status || status.err !== null || !attempt) continue;
        if (meets(status)) return { txId: attempt.txId, nftId, alreadySettled: true };
        // Seen but not yet at our commitment: it can still be dropped by a fork, so wait for it.
        const outcome = await waitForSignature(attempt.txId, Number(attempt.validUntil));
        if (outcome.landed && outcome.err === null) return { txId: attempt.txId, nftId, alreadySettled: true };
      }
      const height = await rpc(context, () => connection.getBlockHeight(commitment));
      const live = attempts
        .filter((a, i) => statuses.value[i] === null && a.validUntil >= BigInt(height))
        .sort((a, b) => (a.validUntil > b.validUntil ? -1 : 1));
      for (const attempt of live) {
        log?.info(
          { ...context, signature: attempt.txId },
          'earlier settlement attempt may still land; rebroadcasting it until it lands or its blockhash expires',
        );
        const outcome = await waitForSignature(
          attempt.txId,
          Number(attempt.validUntil),
          attempt.signedTx && { signed: attempt.signedTx, justSent: false },
        );
        if (outcome.landed && outcome.err === null) return { txId: attempt.txId, nftId, alreadySettled: true };
      }
    }
    const onChain = await findOnChainSettlement(mint, buyer, context);
    if (onChain !== undefined) {
      log?.warn({ ...context }, 'NFT mint already exists: settlement landed without a confirmed journal signature');
      return { txId: onChain !== '' ? onChain : (attempts.at(-1)?.txId ?? ''), nftId, alreadySettled: true };
    }
    return undefined;
  };

  const checkTreasury = async (payouts: { wallet: PublicKey }[], total: bigint, rentForNft: number, context: Record<string, unknown>) => {
    const program = await usdcProgramId();
    const treasuryAta = await treasuryUsdcAccount();
    const recipientAtas = [...new Set(payouts.map((p) => associatedTokenAddress(deps.usdcMint, p.wallet, true, program).toBase58()))].map(
      (a) => new PublicKey(a),
    );
    const [ataInfo, solBalance, ...recipients] = await rpc(context, () =>
      connection.getMultipleAccountsInfo([treasuryAta, treasury.publicKey, ...recipientAtas], commitment),
    );
    const usdc = ataInfo ? unpackAccount(treasuryAta, ataInfo, program).amount : 0n;
    if (usdc < total) {
      throw new DomainError(ErrorType.InsufficientTreasury, 'treasury USDC balance is below the payout total', {
        ...context,
        balanceMicroUsdc: usdc.toString(),
        requiredMicroUsdc: total.toString(),
      });
    }
    const missingAtas = recipientAtas.filter((_, i) => recipients[i] === null);
    const missing = missingAtas.length;
    const ataRent = await rentExemption(165, context);
    // NFT mint rent, the buyer's and each missing recipient's account rent, and the capped fee.
    const maxFee = 2 * SIGNATURE_FEE_LAMPORTS + Math.ceil((deps.priorityFeeCapMicroLamports * deps.computeUnitLimit) / 1_000_000);
    const neededLamports = BigInt(rentForNft + ataRent * (missing + 1) + maxFee);
    const lamports = BigInt(solBalance?.lamports ?? 0);
    if (lamports < neededLamports) {
      throw new DomainError(ErrorType.InsufficientTreasury, 'treasury SOL balance cannot cover rent and fees', {
        ...context,
        lamports: lamports.toString(),
        requiredLamports: neededLamports.toString(),
      });
    }
    return new Set(missingAtas.map((a) => a.toBase58()));
  };

  /**
   * Creates missing recipient accounts in small transactions ahead of a settlement that has no room
   * for them. That only moves rent, never USDC.
   */
  const prepareRecipientAccounts = async (payouts: { wallet: PublicKey }[], missing: Set<string>, context: Record<string, unknown>) => {
    const program = await usdcProgramId();
    const pending = [...new Map(payouts.map((p) => [p.wallet.toBase58(), p.wallet])).values()].filter((w) =>
      missing.has(associatedTokenAddress(deps.usdcMint, w, true, program).toBase58()),
    );
    if (pending.length === 0) return;
    log?.info({ ...context, accounts: pending.length }, 'creating recipient USDC accounts ahead of the settlement');
    for (let i = 0; i < pending.length; i += ATAS_PER_PREPARE_TX) {
      const ixs = pending
        .slice(i, i + ATAS_PER_PREPARE_TX)
        .map((w) =>
          createAssociatedTokenAccountIdempotentInstruction(
            treasury.publicKey,
            associatedTokenAddress(deps.usdcMint, w, true, program),
            w,
            deps.usdcMint,
            program,
          ),
        );
      const { blockhash, lastValidBlockHeight } = await latestBlockhash(context);
      const tx = new VersionedTransaction(
        new TransactionMessage({ payerKey: treasury.publicKey, recentBlockhash: blockhash, instructions: ixs }).compileToV0Message(),
      );
      tx.sign([treasury]);
      await sendAndWait(tx, lastValidBlockHeight, { ...context, op: 'prepareRecipientAccounts' });
    }
  };

  const priorityFee = (context: Record<string, unknown>): Promise<number> =>
    priorityFees.get('treasury', async () => {
      const samples = await rpc(context, async () =>
        connection.getRecentPrioritizationFees({ lockedWritableAccounts: [await treasuryUsdcAccount()] }),
      );
      const fees = samples.map((s) => s.prioritizationFee).sort((a, b) => a - b);
      const p75 = fees[Math.floor(fees.length * 0.75)] ?? 0;
      return Math.min(p75, deps.priorityFeeCapMicroLamports);
    });

  const compile = (
    ixs: TransactionInstruction[],
    blockhash: string,
    tables: AddressLookupTableAccount[],
  ): VersionedTransaction | undefined => {
    try {
      const msg = new TransactionMessage({
        payerKey: treasury.publicKey,
        recentBlockhash: blockhash,
        instructions: ixs,
      }).compileToV0Message(tables);
      const tx = new VersionedTransaction(msg);
      const size = tx.serialize().length;
      const accounts =
        msg.staticAccountKeys.length + msg.addressTableLookups.reduce((n, l) => n + l.writableIndexes.length + l.readonlyIndexes.length, 0);
      // 64 is the per-transaction account lock limit validators enforce.
      return size <= PACKET_DATA_SIZE && accounts <= 64 ? tx : undefined;
    } catch {
      return undefined;
    }
  };

  type Plan = { tx: VersionedTransaction; usedLookupTables: boolean };

  /**
   * One layout's transaction, compiled with a placeholder blockhash, or undefined when it cannot
   * fit. The real blockhash (32 bytes, like the placeholder) is set just before signing.
   */
  const plan = async (
    input: Omit<Parameters<typeof settlementInstructions>[0], 'createRecipientAccounts'>,
    createRecipientAccounts: boolean,
    context: Record<string, unknown>,
  ): Promise<Plan | undefined> => {
    const ixs = settlementInstructions({ ...input, createRecipientAccounts });
    const probeHash = PublicKey.default.toBase58();
    const direct = compile(ixs, probeHash, []);
    if (direct) return { tx: direct, usedLookupTables: false };
    const candidates = lookupCandidates({ ...input, createRecipientAccounts });
    // A layout too big even with every candidate in a table is rejected without touching the chain.
    const ideal = new AddressLookupTableAccount({
      key: PublicKey.default,
      state: {
        deactivationSlot: U64_MAX,
        lastExtendedSlot: 0,
        lastExtendedSlotStartIndex: 0,
        authority: treasury.publicKey,
        addresses: candidates,
      },
    });
    if (!compile(ixs, probeHash, [ideal])) return undefined;
    const tables = await lookupTables.ensure(candidates).catch((err: unknown) => {
      throw toDomainError(err, { ...context, op: 'lookupTable' });
    });
    const viaTables = compile(ixs, probeHash, tables);
    return viaTables && { tx: viaTables, usedLookupTables: true };
  };

  const buildSigned = async (
    request: SettlementRequest,
    nftMint: Keypair,
    buyer: PublicKey,
    payouts: { wallet: PublicKey; amount: bigint }[],
    rentForNft: number,
    missing: Set<string>,
    context: Record<string, unknown>,
  ) => {
    const input = {
      treasury: treasury.publicKey,
      nftMint,
      buyer,
      nft: request.nft,
      usdcMint: deps.usdcMint,
      usdcProgram: await usdcProgramId(),
      payouts,
      computeUnitLimit: deps.computeUnitLimit,
      priorityFeeMicroLamports: await priorityFee(context),
      rentForNftMint: rentForNft,
    };
    const uniqueRecipients = new Set(payouts.map((p) => p.wallet.toBase58())).size;
    const trace = NFT_TRACE + payouts.length + uniqueRecipients + missing.size * ATA_CREATE_CPIS;
    let chosen = trace <= MAX_INSTRUCTION_TRACE ? await plan(input, true, context) : undefined;
    if (!chosen && NFT_TRACE + payouts.length <= MAX_INSTRUCTION_TRACE) {
      const lean = await plan(input, false, context);
      if (lean) {
        await prepareRecipientAccounts(payouts, missing, context);
        chosen = lean;
      }
    }
    if (!chosen)
      throw new DomainError(ErrorType.InvalidSplits, 'the settlement does not fit in one transaction', {
        ...context,
        payouts: payouts.length,
      });
    const { blockhash, lastValidBlockHeight } = await latestBlockhash(context);
    const { tx, usedLookupTables } = chosen;
    tx.message.recentBlockhash = blockhash;
    tx.sign([treasury, nftMint]);
    return { tx, lastValidBlockHeight, usedLookupTables };
  };

  return {
    rail: Rail.Solana,
    connection,
    isValidWallet: isValidSolanaWallet,
    nftMintFor: (purchaseId) => deriveNftMintKeypair(deps.nftMintSeed, purchaseId).publicKey,
    treasuryUsdcAccount,

    async treasuryBalanceMicroUsdc() {
      const ata = await treasuryUsdcAccount();
      const info = await rpc({ op: 'treasuryBalance' }, () => connection.getAccountInfo(ata, commitment));
      return info ? unpackAccount(ata, info, await usdcProgramId()).amount : 0n;
    },

    async ping() {
      await rpc({ op: 'ping' }, () => connection.getBlockHeight(commitment));
    },

    async settle(request, journal) {
      const { buyer, payouts, total } = validate(request);
      const nftMint = deriveNftMintKeypair(deps.nftMintSeed, request.purchaseId);
      const nftId = nftMint.publicKey.toBase58();
      const context = { purchaseId: request.purchaseId, nftMint: nftId };

      const prior = await resolvePrior(request, journal, nftMint.publicKey, buyer);
      if (prior) return prior;

      const { fundedSpace } = nftMintSizes(request.nft, nftMint.publicKey, treasury.publicKey);
      const rentForNft = await rentExemption(fundedSpace, context);
      const missing = await checkTreasury(payouts, total, rentForNft, context);
      const { tx, lastValidBlockHeight, usedLookupTables } = await buildSigned(
        request,
        nftMint,
        buyer,
        payouts,
        rentForNft,
        missing,
        context,
      );
      const signature = bs58.encode(tx.signatures[0] ?? new Uint8Array());
      const signed = tx.serialize();
      await journal.recordAttempt({
        purchaseId: request.purchaseId,
        txId: signature,
        validUntil: BigInt(lastValidBlockHeight),
        signedTx: signed,
      });
      log?.info({ ...context, signature, lastValidBlockHeight, payouts: payouts.length, usedLookupTables }, 'sending settlement');

      try {
        await connection.sendRawTransaction(signed, { skipPreflight: false, preflightCommitment: commitment, maxRetries: 0 });
      } catch (err) {
        const failure = preflightFailureOf(err);
        if (failure && isMintAlreadyExists(failure)) {
          // Another attempt landed between our checks and this send: report it rather than fail.
          const again = await resolvePrior(request, journal, nftMint.publicKey, buyer);
          if (again) return again;
        }
        // These bytes are already on chain (see send): their status below tells the outcome.
        if (failure?.err !== ALREADY_PROCESSED) throw toDomainError(err, { ...context, signature });
      }

      const outcome = await waitForSignature(signature, lastValidBlockHeight, { signed, justSent: true });
      if (!outcome.landed) {
        throw new DomainError(ErrorType.BlockhashExpired, 'settlement expired before landing; a retry will re-sign', {
          ...context,
          signature,
          lastValidBlockHeight,
        });
      }
      if (outcome.err !== null) {
        const logs = await connection
          .getTransaction(signature, { maxSupportedTransactionVersion: 0, commitment: 'confirmed' })
          .then((t) => t?.meta?.logMessages ?? [])
          .catch(() => []);
        throw chainFailureToDomainError({ err: outcome.err, logs }, { ...context, signature });
      }
      log?.info({ ...context, signature, slot: outcome.slot }, 'settlement confirmed');
      return { txId: signature, nftId, alreadySettled: false };
    },
  };
}
