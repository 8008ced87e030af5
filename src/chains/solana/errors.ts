import { SendTransactionError } from '@solana/web3.js';
import { DomainError, ErrorType } from '../../shared/errors';

/** SPL Token's `TokenError::InsufficientFunds` is custom error 1 in both token programs. */
const TOKEN_INSUFFICIENT_FUNDS = 0x1;

export interface ChainFailure {
  err: unknown;
  logs: string[];
}

const TRANSPORT_PATTERN =
  /fetch failed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|socket hang up|timeout|timed out|aborted|network|\b5\d\d\b|\b429\b|Too Many Requests|Service Unavailable/i;

function isTransportError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const cause = (err as { cause?: unknown }).cause;
  const text = `${err.name} ${err.message} ${cause instanceof Error ? cause.message : ''} ${(cause as { code?: string } | undefined)?.code ?? ''}`;
  return TRANSPORT_PATTERN.test(text);
}

function customCodeOf(err: unknown): number | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const ie = (err as { InstructionError?: unknown }).InstructionError;
  if (!Array.isArray(ie)) return undefined;
  const inner: unknown = ie[1];
  if (inner && typeof inner === 'object' && 'Custom' in inner) return Number((inner as { Custom: unknown }).Custom);
  return undefined;
}

/** The account-in-use failure a second landing of the same NFT mint produces. */
export function isMintAlreadyExists(failure: ChainFailure): boolean {
  return failure.logs.some((l) => /already in use/i.test(l));
}

/** Maps a failed execution (preflight or landed) to the domain error the workflow understands. */
export function chainFailureToDomainError(failure: ChainFailure, context: Record<string, unknown>): DomainError {
  const { err, logs } = failure;
  const details = { ...context, err, logs };
  if (err === 'BlockhashNotFound')
    return new DomainError(ErrorType.BlockhashExpired, 'blockhash expired before the transaction landed', details);
  const tokenInsufficient =
    logs.some((l) => /Error: insufficient funds/i.test(l)) ||
    (customCodeOf(err) === TOKEN_INSUFFICIENT_FUNDS && logs.some((l) => /Tokenkeg|Tokenz/.test(l)));
  if (tokenInsufficient)
    return new DomainError(ErrorType.InsufficientTreasury, 'treasury USDC balance is insufficient for the payouts', details);
  if (err === 'InsufficientFundsForFee' || (err && typeof err === 'object' && 'InsufficientFundsForRent' in err)) {
    return new DomainError(ErrorType.InsufficientTreasury, 'treasury SOL balance is insufficient for fees and rent', details);
  }
  return new DomainError(ErrorType.SettlementRejected, `settlement transaction failed: ${JSON.stringify(err)}`, details);
}

/** The preflight verdict for bytes the chain has already processed (the RPC's "already been processed"). */
export const ALREADY_PROCESSED = 'AlreadyProcessed';

/** Parses the `{err, logs}` web3.js attaches to a preflight failure. */
export function preflightFailureOf(err: unknown): ChainFailure | undefined {
  if (!(err instanceof SendTransactionError)) return undefined;
  // The getter builds its object from fields the constructor may have left unset.
  const txError: { message?: string; logs?: string[] } | undefined = err.transactionError;
  const message = txError?.message ?? err.message;
  const logs = txError?.logs ?? err.logs ?? [];
  let txErr: unknown = message;
  if (/Blockhash not found/i.test(message)) txErr = 'BlockhashNotFound';
  else if (/already been processed/i.test(message)) txErr = ALREADY_PROCESSED;
  else {
    const m = /Error processing Instruction (\d+): custom program error: 0x([0-9a-f]+)/i.exec(message);
    if (m) txErr = { InstructionError: [Number(m[1]), { Custom: parseInt(m[2] ?? '0', 16) }] };
  }
  return { err: txErr, logs };
}

/** Anything not recognised as a chain verdict is treated as the RPC being unreachable: retryable. */
export function toDomainError(err: unknown, context: Record<string, unknown>): DomainError {
  if (err instanceof DomainError) return err;
  const failure = preflightFailureOf(err);
  if (failure) return chainFailureToDomainError(failure, context);
  const message = err instanceof Error ? err.message : String(err);
  return new DomainError(ErrorType.RpcUnavailable, `Solana RPC unavailable: ${message.slice(0, 300)}`, {
    ...context,
    transport: isTransportError(err),
  });
}
