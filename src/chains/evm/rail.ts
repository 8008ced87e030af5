/**
 * EVM settlement rail: one SettlementSplitter.settle transaction per purchase, sent by a single
 * settler key shared by every workflow in the process.
 *
 * Idempotency (docs/architecture.md §4): the on-chain purchaseId is keccak256(utf8(purchaseId)) and the contract
 * refuses a second settlement; the signed transaction's hash is journalled (validUntil = nonce)
 * before it is broadcast; a retry first looks at journalled hashes, then at `settled(purchaseId)`,
 * and only then signs a new transaction.
 */
import {
  Contract,
  getAddress,
  isAddress,
  isError,
  keccak256,
  parseUnits,
  toUtf8Bytes,
  Wallet,
  ZeroAddress,
  type JsonRpcProvider,
  type TransactionReceipt,
  type TransactionResponse,
} from 'ethers';
import type { Config } from '../../config';
import { DomainError, ErrorType, isDomainError } from '../../shared/errors';
import { Rail } from '../../shared/status';
import type { SettlementJournal, SettlementRail, SettlementRequest, SettlementResult } from '../rail';
import { defaultDeploymentsFile, readEvmDeployment } from './deployments';
import { erc20InterfaceAbi, settlementSplitterInterfaceAbi } from './interfaces';
import { withRpcRetry } from '../rpc-retry';
import { isAlreadyKnown, isChainError, isNonceError, settlementErrorsInterface, toDomainError } from './errors';
import { NonceAllocator } from './nonce';
import { connectProvider } from './provider';

export interface EvmLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface EvmContracts {
  splitter: string;
  usdc: string;
  treasury: string;
}

/** Addresses the rail needs; the treasury defaults to the splitter's own `treasury()`. */
interface EvmContractsInput {
  splitter: string;
  usdc: string;
  treasury?: string;
}

export interface EvmRailDeps {
  /** An existing provider, or an RPC URL to connect to (lazily, on first use). */
  provider?: JsonRpcProvider;
  rpcUrl?: string;
  /** Known chain id; avoids a detection round trip. */
  chainId?: number;
  /** The settler's private key (holds SETTLER_ROLE and pays gas). */
  settlerKey: string;
  /** Addresses, or a resolver run once on first use (e.g. reading the deployments file). */
  contracts: EvmContractsInput | (() => Promise<EvmContractsInput>);
  /** Blocks to wait for after inclusion; 1 = included. */
  confirmations: number;
  /** Cap on maxFeePerGas, in gwei. */
  maxFeeGwei: number;
  /** Cap on the gas limit of a settle transaction. */
  gasLimitCap?: bigint;
  /** How long to wait for confirmations before giving up with RpcUnavailable (a retry resumes). */
  receiptTimeoutMs?: number;
  /** Share an allocator between rails that use the same key in one process. */
  nonceAllocator?: NonceAllocator;
  logger?: EvmLogger;
}

/** On-chain purchase key: keccak256 of the purchase id's UTF-8 bytes. */
export function purchaseKey(purchaseId: string): string {
  return keccak256(toUtf8Bytes(purchaseId));
}

/** Checksummed or all-lowercase hex address, not the zero address. */
export function isValidEvmAddress(address: string): boolean {
  return typeof address === 'string' && isAddress(address) && getAddress(address) !== ZeroAddress;
}

const MAX_SEND_ATTEMPTS = 4;
const DEFAULT_GAS_LIMIT_CAP = 3_000_000n;

interface Settled {
  txId: string;
  nftId: string;
}

export function createEvmRail(deps: EvmRailDeps): SettlementRail & {
  /** Resolved addresses, for diagnostics. */
  contracts(): Promise<EvmContracts>;
  settlerAddress(): Promise<string>;
} {
  const confirmations = Math.max(1, deps.confirmations);
  const maxFeeCap = parseUnits(String(deps.maxFeeGwei), 'gwei');
  const gasLimitCap = deps.gasLimitCap ?? DEFAULT_GAS_LIMIT_CAP;
  const receiptTimeoutMs = deps.receiptTimeoutMs ?? 120_000;
  const log = deps.logger;

  interface Ctx {
    provider: JsonRpcProvider;
    wallet: Wallet;
    chainId: bigint;
    contracts: EvmContracts;
    splitter: Contract;
    usdc: Contract;
    nonces: NonceAllocator;
  }
  let ctxPromise: Promise<Ctx> | undefined;
  const ctx = (): Promise<Ctx> => {
    ctxPromise ??= (async () => {
      const provider = deps.provider ?? (deps.rpcUrl ? await connectProvider(deps.rpcUrl, { chainId: deps.chainId }) : undefined);
      if (!provider) throw new Error('createEvmRail needs provider or rpcUrl');
      const raw = typeof deps.contracts === 'function' ? await deps.contracts() : deps.contracts;
      const splitter = new Contract(getAddress(raw.splitter), settlementSplitterInterfaceAbi, provider);
      const treasury = raw.treasury ?? ((await splitter.getFunction('treasury')()) as string);
      const contracts = { splitter: getAddress(raw.splitter), usdc: getAddress(raw.usdc), treasury: getAddress(treasury) };
      const wallet = new Wallet(deps.settlerKey, provider);
      const chainId = (await provider.getNetwork()).chainId;
      return {
        provider,
        wallet,
        chainId,
        contracts,
        splitter,
        usdc: new Contract(contracts.usdc, erc20InterfaceAbi, provider),
        nonces: deps.nonceAllocator ?? new NonceAllocator(() => provider.getTransactionCount(wallet.address, 'pending')),
      };
    })().catch((err: unknown) => {
      ctxPromise = undefined; // try again on the next call
      throw err;
    });
    return ctxPromise;
  };

  /**
   * Chain calls (reads, and following a transaction already sent): a chain or network error becomes
   * the chain's typed verdict, and a call the node did not answer is tried again in place. Anything
   * else (the journal's database restarting, say) is not a verdict on the settlement and passes
   * through untouched, so Temporal retries it; calling it a rejection would fail a purchase that may
   * still settle. Sending goes around this: a signed send is never repeated blind.
   */
  const io = <T>(context: string, fn: () => Promise<T>): Promise<T> =>
    withRpcRetry(fn, (err) => (isChainError(err) ? toDomainError(err, context) : err));

  const parseSettled = (c: Ctx, receipt: TransactionReceipt, key: string): Settled | undefined => {
    for (const entry of receipt.logs) {
      if (getAddress(entry.address) !== c.contracts.splitter) continue;
      const parsed = settlementErrorsInterface.parseLog({ topics: [...entry.topics], data: entry.data });
      if (parsed?.name === 'PurchaseSettled' && parsed.args[0] === key) {
        return { txId: receipt.hash, nftId: (parsed.args[2] as bigint).toString() };
      }
    }
    return undefined;
  };

  const awaitConfirmations = async (c: Ctx, receipt: TransactionReceipt): Promise<void> => {
    if (confirmations <= 1) return;
    if ((await receipt.confirmations()) >= confirmations) return;
    const confirmed = await c.provider.waitForTransaction(receipt.hash, confirmations, receiptTimeoutMs);
    if (!confirmed) throw new DomainError(ErrorType.RpcUnavailable, `settlement ${receipt.hash} not yet confirmed`);
  };

  /** The settlement already on chain, found through settlementOf's block (one-block log query). */
  const findOnChain = async (c: Ctx, key: string): Promise<Settled | undefined> => {
    const [tokenId, blockNumber] = (await c.splitter.getFunction('settlementOf')(key)) as [bigint, bigint];
    if (tokenId === 0n) return undefined;
    const logs = await c.splitter.queryFilter(c.splitter.filters.PurchaseSettled!(key), Number(blockNumber), Number(blockNumber));
    const txId = logs[0]?.transactionHash ?? '';
    return { txId, nftId: tokenId.toString() };
  };

  /** Follows a sent transaction to `confirmations`, including replacement by another of ours. */
  const follow = async (c: Ctx, tx: TransactionResponse, key: string, purchaseId: string): Promise<Settled | undefined> => {
    let receipt: TransactionReceipt | null;
    try {
      receipt = await tx.wait(confirmations, receiptTimeoutMs);
    } catch (err) {
      if (isError(err, 'TRANSACTION_REPLACED')) {
        log?.warn({ purchaseId, txId: tx.hash, replacement: err.hash, reason: err.reason }, 'settlement transaction replaced');
        if (!err.cancelled && err.receipt.status === 1) return parseSettled(c, err.receipt, key);
        return undefined; // cancelled or replaced by something else: look at the chain again
      }
      if (isError(err, 'CALL_EXCEPTION')) {
        log?.warn({ purchaseId, txId: tx.hash }, 'settlement transaction reverted');
        return undefined;
      }
      if (isError(err, 'TIMEOUT')) {
        throw new DomainError(
          ErrorType.RpcUnavailable,
          `settlement ${tx.hash} not confirmed within ${receiptTimeoutMs} ms; a retry resumes it`,
          { txId: tx.hash },
        );
      }
      throw err;
    }
    if (!receipt) return undefined;
    return parseSettled(c, receipt, key);
  };

  /** A retry first checks every journalled transaction, newest first. */
  const checkJournal = async (c: Ctx, journal: SettlementJournal, purchaseId: string, key: string): Promise<Settled | undefined> => {
    const attempts = (await journal.attempts(purchaseId)).slice().sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    for (const attempt of attempts) {
      const receipt = await c.provider.getTransactionReceipt(attempt.txId);
      if (receipt) {
        if (receipt.status === 1) {
          const found = parseSettled(c, receipt, key);
          if (found) {
            await awaitConfirmations(c, receipt);
            return found;
          }
        }
        continue;
      }
      const pending = await c.provider.getTransaction(attempt.txId);
      if (pending && pending.blockNumber == null) {
        log?.info({ purchaseId, txId: attempt.txId }, 'resuming pending settlement transaction');
        const startBlock = Math.max(0, (await c.provider.getBlockNumber()) - 3);
        const found = await follow(c, pending.replaceableTransaction(startBlock), key, purchaseId);
        if (found) return found;
        continue;
      }
      if (!pending) {
        // Dropped: if its nonce is still unused, our counter may sit past a gap.
        const latest = await c.provider.getTransactionCount(c.wallet.address, 'latest');
        if (BigInt(latest) <= attempt.validUntil) c.nonces.resync();
      }
    }
    return undefined;
  };

  const validate = (request: SettlementRequest): void => {
    if (!isValidEvmAddress(request.buyerWallet)) {
      throw new DomainError(ErrorType.InvalidWallet, 'buyer wallet is not a valid EVM address', { wallet: request.buyerWallet });
    }
    if (request.payouts.length === 0) throw new DomainError(ErrorType.InvalidSplits, 'settlement needs at least one payout');
    for (const p of request.payouts) {
      if (!isValidEvmAddress(p.wallet)) {
        throw new DomainError(ErrorType.InvalidWallet, 'payout wallet is not a valid EVM address', { wallet: p.wallet });
      }
      if (typeof p.amountMicroUsdc !== 'bigint' || p.amountMicroUsdc < 0n) {
        throw new DomainError(ErrorType.ValidationFailed, 'payout amounts must be non-negative bigint micro-USDC');
      }
    }
  };

  const fees = async (c: Ctx): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> => {
    const data = await c.provider.getFeeData();
    const suggestedMax = data.maxFeePerGas ?? data.gasPrice ?? maxFeeCap;
    const maxFeePerGas = suggestedMax < maxFeeCap ? suggestedMax : maxFeeCap;
    const suggestedTip = data.maxPriorityFeePerGas ?? 0n;
    return { maxFeePerGas, maxPriorityFeePerGas: suggestedTip < maxFeePerGas ? suggestedTip : maxFeePerGas };
  };

  const settleOnce = async (c: Ctx, request: SettlementRequest, journal: SettlementJournal, key: string): Promise<Settled> => {
    const recipients = request.payouts.map((p) => getAddress(p.wallet));
    const amounts = request.payouts.map((p) => p.amountMicroUsdc);
    const total = amounts.reduce((a, b) => a + b, 0n);

    // Preflight so a short treasury is a typed, retry-later error and nothing is sent.
    const [balance, allowance] = await io('treasury preflight', () =>
      Promise.all([
        c.usdc.getFunction('balanceOf')(c.contracts.treasury) as Promise<bigint>,
        c.usdc.getFunction('allowance')(c.contracts.treasury, c.contracts.splitter) as Promise<bigint>,
      ]),
    );
    if (balance < total || allowance < total) {
      throw new DomainError(ErrorType.InsufficientTreasury, `treasury cannot cover ${total} micro-USDC`, {
        needMicroUsdc: total.toString(),
        balanceMicroUsdc: balance.toString(),
        allowanceMicroUsdc: allowance.toString(),
      });
    }

    const data = c.splitter.interface.encodeFunctionData('settle', [
      key,
      getAddress(request.buyerWallet),
      request.nft.uri,
      recipients,
      amounts,
    ]);
    const estimate = await io('simulate settle', () => c.provider.estimateGas({ from: c.wallet.address, to: c.contracts.splitter, data }));
    const gasLimit = (estimate * 12n) / 10n + 10_000n;
    if (gasLimit > gasLimitCap) {
      throw new DomainError(ErrorType.SettlementRejected, `settle needs ${gasLimit} gas, above the cap ${gasLimitCap}`, {
        payouts: recipients.length,
      });
    }
    const fee = await io('fee data', () => fees(c));

    for (let attempt = 1; ; attempt++) {
      let sent: TransactionResponse;
      try {
        sent = await c.nonces.withNonce(async (nonce) => {
          const signed = await c.wallet.signTransaction({
            type: 2,
            chainId: c.chainId,
            nonce,
            to: c.contracts.splitter,
            data,
            gasLimit,
            ...fee,
          });
          const txId = keccak256(signed);
          await journal.recordAttempt({ purchaseId: request.purchaseId, txId, validUntil: BigInt(nonce) });
          try {
            return await c.provider.broadcastTransaction(signed);
          } catch (err) {
            if (!isAlreadyKnown(err)) throw err;
            const known = await c.provider.getTransaction(txId);
            if (!known) throw err;
            return known.replaceableTransaction(await c.provider.getBlockNumber());
          }
        });
      } catch (err) {
        if (isNonceError(err) && attempt < MAX_SEND_ATTEMPTS) {
          log?.warn({ purchaseId: request.purchaseId, attempt }, 'nonce conflict; resynced, resending');
          continue; // withNonce already resynced
        }
        // The journal's database restarting is not a verdict on the settlement: Temporal retries it.
        if (!isChainError(err)) throw err;
        throw toDomainError(err, 'send settle');
      }
      log?.info({ purchaseId: request.purchaseId, txId: sent.hash, nonce: sent.nonce }, 'settlement transaction sent');
      const landed = await io('confirm settle', () => follow(c, sent, key, request.purchaseId));
      if (landed) return landed;
      // Reverted, cancelled or replaced: did another attempt land, or why did this one fail?
      const onChain = await io('read settlement', () => findOnChain(c, key));
      if (onChain) return onChain;
      if (attempt >= MAX_SEND_ATTEMPTS) {
        throw new DomainError(ErrorType.SettlementRejected, `settlement did not land after ${attempt} attempts`, { txId: sent.hash });
      }
      await io('re-simulate settle', () => c.provider.estimateGas({ from: c.wallet.address, to: c.contracts.splitter, data }));
    }
  };

  return {
    rail: Rail.Evm,

    isValidWallet: isValidEvmAddress,

    async treasuryBalanceMicroUsdc(): Promise<bigint> {
      const c = await io('connect', ctx);
      return io('treasury balance', () => c.usdc.getFunction('balanceOf')(c.contracts.treasury) as Promise<bigint>);
    },

    async settle(request: SettlementRequest, journal: SettlementJournal): Promise<SettlementResult> {
      validate(request);
      const c = await io('connect', ctx);
      const key = purchaseKey(request.purchaseId);

      const fromJournal = await io('check journal', () => checkJournal(c, journal, request.purchaseId, key));
      if (fromJournal) return { ...fromJournal, alreadySettled: true };
      const existing = await io('read settlement', () => findOnChain(c, key));
      if (existing) return { ...existing, alreadySettled: true };

      try {
        const landed = await settleOnce(c, request, journal, key);
        return { ...landed, alreadySettled: false };
      } catch (err) {
        if (isDomainError(err, ErrorType.AlreadySettled)) {
          // Lost a race with a concurrent attempt for the same purchase.
          const raced = await io('read settlement', () => findOnChain(c, key));
          if (raced) return { ...raced, alreadySettled: true };
          throw new DomainError(ErrorType.SettlementRejected, 'contract reports the purchase settled but no settlement was found');
        }
        throw err;
      }
    },

    async ping(): Promise<void> {
      const c = await io('connect', ctx);
      await io('ping', () => c.provider.getBlockNumber());
    },

    async contracts(): Promise<EvmContracts> {
      return (await io('connect', ctx)).contracts;
    },

    async settlerAddress(): Promise<string> {
      return (await io('connect', ctx)).wallet.address;
    },
  };
}

/**
 * The rail for the running process. Addresses come from EVM_SPLITTER_ADDRESS / EVM_USDC_ADDRESS,
 * else from the deployments file written by scripts/deploy-evm.ts; the treasury is whatever the
 * splitter's `treasury()` says. Nothing touches the network until the first call.
 */
export function evmRailFromConfig(config: Readonly<Config>, logger?: EvmLogger): ReturnType<typeof createEvmRail> {
  return createEvmRail({
    rpcUrl: config.evmRpcUrl,
    settlerKey: config.EVM_PRIVATE_KEY,
    confirmations: config.EVM_CONFIRMATIONS,
    maxFeeGwei: config.EVM_MAX_FEE_GWEI,
    logger,
    contracts: async () => {
      const provider = await connectProvider(config.evmRpcUrl);
      let chainId: number;
      try {
        chainId = Number((await provider.getNetwork()).chainId);
      } finally {
        provider.destroy();
      }
      const deployment = readEvmDeployment(defaultDeploymentsFile(chainId, config.dataDir));
      const splitter = config.EVM_SPLITTER_ADDRESS ?? deployment?.splitter;
      const usdc = config.EVM_USDC_ADDRESS ?? deployment?.usdc;
      if (!splitter || !usdc) {
        throw new DomainError(
          ErrorType.RpcUnavailable,
          `no EVM deployment for chain ${chainId}: run scripts/deploy-evm.ts or set EVM_SPLITTER_ADDRESS and EVM_USDC_ADDRESS`,
        );
      }
      return { splitter, usdc };
    },
  });
}
