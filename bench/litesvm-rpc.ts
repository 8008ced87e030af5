/**
 * A Solana chain in this process: a LiteSVM (the `litesvm` package, the same SVM Surfpool runs) behind
 * a `fetch` that answers web3.js's JSON-RPC requests directly, with no HTTP and no second process.
 * A `Connection` built on it sends and parses exactly what it sends to a node, so the Solana rail
 * does the same work on it as over the network: the same reads, the same preflighted send, the
 * same signature-status checks.
 *
 * What it serves is what the rail calls: getAccountInfo, getMultipleAccounts, getBalance,
 * getMinimumBalanceForRentExemption, getLatestBlockhash, getBlockHeight, getSlot,
 * getRecentPrioritizationFees, sendTransaction (with or without preflight), getSignatureStatuses
 * and getSignaturesForAddress. Anything else is answered "method not found" (-32601), as a node
 * answers a method it does not have.
 *
 * LiteSVM produces no blocks: the slot and the blockhash stay where they are, a transaction executes
 * when it is sent, and its status is final at once. There is no fee market, so there are no recent
 * priority fees to report.
 */
import { AddressLookupTableAccount, PublicKey, VersionedTransaction } from '@solana/web3.js';
import { address, getTransactionDecoder, lamports as toLamports } from '@solana/kit';
import bs58 from 'bs58';
import { FailedTransactionMetadata, LiteSVM } from 'litesvm';
// The error classes are the native binding's own; the package's entry point re-exports only some of them.
import {
  InstructionErrorBorshIo,
  InstructionErrorCustom,
  TransactionErrorDuplicateInstruction,
  TransactionErrorInstructionError,
  TransactionErrorInsufficientFundsForRent,
  TransactionErrorProgramExecutionTemporarilyRestricted,
} from 'litesvm/dist/internal';

/** `TransactionErrorFieldless`, by value: the names a node writes in JSON (litesvm exports the values only). */
const TRANSACTION_ERRORS = [
  'AccountInUse',
  'AccountLoadedTwice',
  'AccountNotFound',
  'ProgramAccountNotFound',
  'InsufficientFundsForFee',
  'InvalidAccountForFee',
  'AlreadyProcessed',
  'BlockhashNotFound',
  'CallChainTooDeep',
  'MissingSignatureForFee',
  'InvalidAccountIndex',
  'SignatureFailure',
  'InvalidProgramForExecution',
  'SanitizeFailure',
  'ClusterMaintenance',
  'AccountBorrowOutstanding',
  'WouldExceedMaxBlockCostLimit',
  'UnsupportedVersion',
  'InvalidWritableAccount',
  'WouldExceedMaxAccountCostLimit',
  'WouldExceedAccountDataBlockLimit',
  'TooManyAccountLocks',
  'AddressLookupTableNotFound',
  'InvalidAddressLookupTableOwner',
  'InvalidAddressLookupTableData',
  'InvalidAddressLookupTableIndex',
  'InvalidRentPayingAccount',
  'WouldExceedMaxVoteCostLimit',
  'WouldExceedAccountDataTotalLimit',
  'MaxLoadedAccountsDataSizeExceeded',
  'ResanitizationNeeded',
  'InvalidLoadedAccountsDataSizeLimit',
  'UnbalancedTransaction',
  'ProgramCacheHitMaxLimit',
  'CommitCancelled',
] as const;

/** `InstructionErrorFieldless`, by value. */
const INSTRUCTION_ERRORS = [
  'GenericError',
  'InvalidArgument',
  'InvalidInstructionData',
  'InvalidAccountData',
  'AccountDataTooSmall',
  'InsufficientFunds',
  'IncorrectProgramId',
  'MissingRequiredSignature',
  'AccountAlreadyInitialized',
  'UninitializedAccount',
  'UnbalancedInstruction',
  'ModifiedProgramId',
  'ExternalAccountLamportSpend',
  'ExternalAccountDataModified',
  'ReadonlyLamportChange',
  'ReadonlyDataModified',
  'DuplicateAccountIndex',
  'ExecutableModified',
  'RentEpochModified',
  'NotEnoughAccountKeys',
  'AccountDataSizeChanged',
  'AccountNotExecutable',
  'AccountBorrowFailed',
  'AccountBorrowOutstanding',
  'DuplicateAccountOutOfSync',
  'InvalidError',
  'ExecutableDataModified',
  'ExecutableLamportChange',
  'ExecutableAccountNotRentExempt',
  'UnsupportedProgramId',
  'CallDepth',
  'MissingAccount',
  'ReentrancyNotAllowed',
  'MaxSeedLengthExceeded',
  'InvalidSeeds',
  'InvalidRealloc',
  'ComputationalBudgetExceeded',
  'PrivilegeEscalation',
  'ProgramEnvironmentSetupFailure',
  'ProgramFailedToComplete',
  'ProgramFailedToCompile',
  'Immutable',
  'IncorrectAuthority',
  'AccountNotRentExempt',
  'InvalidAccountOwner',
  'ArithmeticOverflow',
  'UnsupportedSysvar',
  'IllegalOwner',
  'MaxAccountsDataAllocationsExceeded',
  'MaxAccountsExceeded',
  'MaxInstructionTraceLengthExceeded',
  'BuiltinProgramsMustConsumeComputeUnits',
  'BorshIoError',
] as const;

/** A transaction error as a node writes it: its JSON form and its message. */
interface RenderedError {
  json: unknown;
  message: string;
}

type LiteSvmError = ReturnType<FailedTransactionMetadata['err']>;

function renderInstructionError(err: ReturnType<TransactionErrorInstructionError['err']>): RenderedError {
  if (err instanceof InstructionErrorCustom)
    return { json: { Custom: err.code }, message: `custom program error: 0x${err.code.toString(16)}` };
  if (err instanceof InstructionErrorBorshIo)
    return { json: { BorshIoError: err.msg }, message: `Failed to serialize or deserialize account data: ${err.msg}` };
  const name = INSTRUCTION_ERRORS[err] ?? `InstructionError${String(err)}`;
  return { json: name, message: name };
}

/** The few messages the rail reads are a node's own words; the rest are the variant's name. */
function renderError(err: LiteSvmError): RenderedError {
  if (err instanceof TransactionErrorInstructionError) {
    const inner = renderInstructionError(err.err());
    return { json: { InstructionError: [err.index, inner.json] }, message: `Error processing Instruction ${err.index}: ${inner.message}` };
  }
  if (err instanceof TransactionErrorInsufficientFundsForRent) {
    return {
      json: { InsufficientFundsForRent: { account_index: err.accountIndex } },
      message: `Transaction results in an account (${err.accountIndex}) with insufficient funds for rent`,
    };
  }
  if (err instanceof TransactionErrorDuplicateInstruction) {
    return {
      json: { DuplicateInstruction: err.index },
      message: `Transaction contains a duplicate instruction (${err.index}) that is not allowed`,
    };
  }
  if (err instanceof TransactionErrorProgramExecutionTemporarilyRestricted) {
    return {
      json: { ProgramExecutionTemporarilyRestricted: { account_index: err.accountIndex } },
      message: `Execution of the program referenced by account at index ${err.accountIndex} is temporarily restricted.`,
    };
  }
  const name = TRANSACTION_ERRORS[err] ?? `TransactionError${String(err)}`;
  const message: Partial<Record<string, string>> = {
    AlreadyProcessed: 'This transaction has already been processed',
    BlockhashNotFound: 'Blockhash not found',
    InsufficientFundsForFee: 'Insufficient funds for fee',
    AccountNotFound: 'Attempt to debit an account but found no record of a prior credit.',
  };
  return { json: name, message: message[name] ?? name };
}

/** A JSON-RPC error answer, as a node's. */
class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

interface Landed {
  slot: number;
  err: unknown;
}

/** u64::MAX, the rent epoch a node reports for a rent-exempt account (as JSON's nearest double, as a node's is). */
const RENT_EXEMPT_EPOCH = Number(2n ** 64n - 1n);
const LOOKUP_TABLE_PROGRAM = 'AddressLookupTab1e1111111111111111111111111';
const decodeTransaction = getTransactionDecoder();

export interface InProcessChain {
  svm: LiteSVM;
  /** A fetch for `new Connection(url, { fetch })`: every request is answered from `svm`. */
  fetch: typeof fetch;
}

/** Serves `svm` (default: a new LiteSVM with the standard programs: System, Token, Token-2022, ATA, ...). */
export function inProcessChain(svm: LiteSVM = new LiteSVM()): InProcessChain {
  const landed = new Map<string, Landed>();
  /** Newest first, per address: what getSignaturesForAddress lists. */
  const byAddress = new Map<string, string[]>();

  const slot = () => Number(svm.getClock().slot);
  const context = () => ({ slot: slot() });

  const accountJson = (key: string) => {
    const account = svm.getAccount(address(key));
    if (!account.exists) return null;
    return {
      data: [Buffer.from(account.data).toString('base64'), 'base64'],
      executable: account.executable,
      lamports: Number(account.lamports),
      owner: account.programAddress,
      rentEpoch: RENT_EXEMPT_EPOCH,
      space: account.data.length,
    };
  };

  /** Every account a v0 or legacy message touches, the lookup tables' included. */
  const accountsOf = (tx: VersionedTransaction): string[] => {
    const keys = tx.message.staticAccountKeys.map((k) => k.toBase58());
    for (const lookup of tx.message.addressTableLookups) {
      const table = svm.getAccount(address(lookup.accountKey.toBase58()));
      if (!table.exists || table.programAddress !== LOOKUP_TABLE_PROGRAM) continue;
      const { addresses } = AddressLookupTableAccount.deserialize(table.data);
      for (const i of [...lookup.writableIndexes, ...lookup.readonlyIndexes]) {
        const loaded = addresses[i];
        if (loaded) keys.push(loaded.toBase58());
      }
    }
    return keys;
  };

  const execute = (bytes: Uint8Array, preflight: boolean): string => {
    const parsed = VersionedTransaction.deserialize(bytes);
    const sig = bs58.encode(parsed.signatures[0] ?? new Uint8Array(64));
    const tx = decodeTransaction.decode(bytes);
    if (preflight) {
      if (landed.has(sig)) throw simulationFailure(renderError(6), []); // AlreadyProcessed
      const simulated = svm.simulateTransaction(tx);
      if (simulated instanceof FailedTransactionMetadata) throw simulationFailure(renderError(simulated.err()), simulated.meta().logs());
    }
    if (landed.has(sig)) return sig;
    const outcome = svm.sendTransaction(tx);
    const failed = outcome instanceof FailedTransactionMetadata;
    // A failure before execution (bad blockhash, no fee payer) never lands; one during or after it does, and pays its fee.
    if (failed && !landsWhenFailed(outcome.err())) {
      if (preflight) throw simulationFailure(renderError(outcome.err()), outcome.meta().logs());
      return sig;
    }
    landed.set(sig, { slot: slot(), err: failed ? renderError(outcome.err()).json : null });
    for (const key of new Set(accountsOf(parsed))) byAddress.set(key, [sig, ...(byAddress.get(key) ?? [])]);
    return sig;
  };

  const methods: Record<string, (params: unknown[]) => unknown> = {
    getAccountInfo: ([key]) => ({ context: context(), value: accountJson(String(key)) }),
    getMultipleAccounts: ([keys]) => ({ context: context(), value: asArray(keys).map((k) => accountJson(String(k))) }),
    getBalance: ([key]) => ({ context: context(), value: Number(svm.getBalance(address(String(key))) ?? 0n) }),
    getMinimumBalanceForRentExemption: ([space]) => Number(svm.minimumBalanceForRentExemption(BigInt(Number(space)))),
    getLatestBlockhash: () => ({ context: context(), value: { blockhash: svm.latestBlockhash(), lastValidBlockHeight: slot() + 150 } }),
    getBlockHeight: () => slot(),
    getSlot: () => slot(),
    getRecentPrioritizationFees: () => [],
    sendTransaction: ([encoded, config]) => {
      const options = isRecord(config) ? config : {};
      if (options.encoding !== 'base64') throw new RpcError(-32602, 'only base64-encoded transactions are served');
      return execute(Buffer.from(String(encoded), 'base64'), options.skipPreflight !== true);
    },
    getSignatureStatuses: ([signatures]) => ({
      context: context(),
      value: asArray(signatures).map((s) => {
        const seen = landed.get(String(s));
        return seen
          ? { slot: seen.slot, confirmations: null, err: seen.err, status: statusOf(seen.err), confirmationStatus: 'finalized' }
          : null;
      }),
    }),
    getSignaturesForAddress: ([key, config]) => {
      const limit = isRecord(config) && typeof config.limit === 'number' ? config.limit : 1000;
      return (byAddress.get(String(key)) ?? []).slice(0, limit).map((sig) => {
        const seen = landed.get(sig);
        return {
          signature: sig,
          slot: seen?.slot ?? 0,
          err: seen?.err ?? null,
          memo: null,
          blockTime: null,
          confirmationStatus: 'finalized',
        };
      });
    },
  };

  const answer = (request: unknown): unknown => {
    const id = isRecord(request) ? request.id : null;
    try {
      if (!isRecord(request) || typeof request.method !== 'string') throw new RpcError(-32600, 'Invalid request');
      const method = methods[request.method];
      if (!method) throw new RpcError(-32601, 'Method not found');
      return { jsonrpc: '2.0', id, result: method(asArray(request.params)) };
    } catch (err) {
      if (!(err instanceof RpcError)) throw err;
      return { jsonrpc: '2.0', id, error: { code: err.code, message: err.message, ...(err.data === undefined ? {} : { data: err.data }) } };
    }
  };

  const inProcessFetch = async (_input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]): Promise<Response> => {
    const body: unknown = JSON.parse(typeof init?.body === 'string' ? init.body : 'null');
    const result = Array.isArray(body) ? body.map(answer) : answer(body);
    return new Response(JSON.stringify(result), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  return { svm, fetch: inProcessFetch };
}

/** Credits `lamports` to `key` (LiteSVM's airdrop: no transaction, no signature to follow). */
export function airdrop(svm: LiteSVM, key: PublicKey, lamports: bigint): void {
  const outcome = svm.airdrop(address(key.toBase58()), toLamports(lamports));
  if (outcome instanceof FailedTransactionMetadata) throw new Error(`airdrop to ${key.toBase58()} failed: ${outcome.toString()}`);
}

function simulationFailure(error: RenderedError, logs: string[]): RpcError {
  return new RpcError(-32002, `Transaction simulation failed: ${error.message}`, {
    err: error.json,
    logs,
    accounts: null,
    unitsConsumed: 0,
    returnData: null,
  });
}

const landsWhenFailed = (err: LiteSvmError) =>
  err instanceof TransactionErrorInstructionError || err instanceof TransactionErrorInsufficientFundsForRent;
const statusOf = (err: unknown) => (err === null ? { Ok: null } : { Err: err });
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
