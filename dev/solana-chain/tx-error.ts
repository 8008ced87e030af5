/**
 * Converts litesvm's error objects into the JSON shape Solana RPC nodes use for `TransactionError`
 * (e.g. `{"InstructionError":[2,{"Custom":1}]}` or `"BlockhashNotFound"`), because web3.js and
 * spl-token parse that shape, and so does our rail.
 */
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

export type JsonTxError = string | Record<string, unknown>;

function instructionErrorToJson(err: unknown): unknown {
  if (typeof err === 'number') return INSTRUCTION_ERRORS[err] ?? 'GenericError';
  if (err && typeof err === 'object') {
    if ('code' in err && typeof err.code === 'number') return { Custom: err.code };
    if ('msg' in err) return { BorshIoError: String(err.msg) };
  }
  return 'GenericError';
}

export function txErrorToJson(err: unknown): JsonTxError {
  if (typeof err === 'number') return TRANSACTION_ERRORS[err] ?? 'SanitizeFailure';
  if (err && typeof err === 'object') {
    const e = err as Record<string, unknown>;
    if (typeof e.err === 'function' && typeof e.index === 'number') {
      return { InstructionError: [e.index, instructionErrorToJson((e.err as () => unknown).call(err))] };
    }
    if (typeof e.accountIndex === 'number') {
      const name = String((err as { toString(): string }).toString());
      if (name.includes('ProgramExecutionTemporarilyRestricted')) {
        return { ProgramExecutionTemporarilyRestricted: { account_index: e.accountIndex } };
      }
      return { InsufficientFundsForRent: { account_index: e.accountIndex } };
    }
    if (typeof e.index === 'number') return { DuplicateInstruction: e.index };
  }
  return 'SanitizeFailure';
}

/** The human text validators put in preflight failures, which web3.js surfaces in its message. */
export function describeTxError(err: JsonTxError): string {
  if (typeof err === 'string') return err;
  const ie = err.InstructionError;
  if (Array.isArray(ie)) {
    const [index, inner] = ie as [number, unknown];
    if (inner && typeof inner === 'object' && 'Custom' in inner) {
      return `Error processing Instruction ${index}: custom program error: 0x${Number((inner as { Custom: number }).Custom).toString(16)}`;
    }
    return `Error processing Instruction ${index}: ${String(inner)}`;
  }
  return JSON.stringify(err);
}
