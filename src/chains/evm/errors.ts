/** Maps ethers / JSON-RPC / revert failures to the engine's DomainError types. */
import { Interface, isError, type ErrorDescription } from 'ethers';
import { DomainError, ErrorType } from '../../shared/errors';
import { erc20InterfaceAbi, settlementSplitterInterfaceAbi } from './interfaces';

/** The splitter's errors and events plus the ERC-20 errors, which bubble up through safeTransferFrom. */
export const settlementErrorsInterface = new Interface([
  ...settlementSplitterInterfaceAbi,
  ...erc20InterfaceAbi.filter((f) => f.startsWith('error ')),
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** The raw revert data inside an ethers error, wherever the provider put it. */
function revertData(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  const visit = (value: unknown): string | undefined => {
    if (value === null || typeof value !== 'object' || seen.has(value)) return undefined;
    seen.add(value);
    const record = value as Record<string, unknown>;
    const data = record.data;
    if (typeof data === 'string' && /^0x[0-9a-fA-F]{8,}$/.test(data)) return data;
    for (const key of ['error', 'info', 'data', 'cause']) {
      const found = visit(record[key]);
      if (found) return found;
    }
    return undefined;
  };
  return visit(err);
}

function decodeRevert(err: unknown): ErrorDescription | undefined {
  const data = revertData(err);
  if (!data) return undefined;
  try {
    return settlementErrorsInterface.parseError(data) ?? undefined;
  } catch {
    return undefined;
  }
}

function isNetworkError(err: unknown): boolean {
  if (isError(err, 'NETWORK_ERROR') || isError(err, 'TIMEOUT') || isError(err, 'SERVER_ERROR')) return true;
  const seen = new Set<unknown>();
  const visit = (value: unknown): boolean => {
    if (value === null || typeof value !== 'object' || seen.has(value)) return false;
    seen.add(value);
    const record = value as Record<string, unknown>;
    if (typeof record.code === 'string' && NETWORK_CODES.has(record.code)) return true;
    if (typeof record.message === 'string' && /fetch failed|socket hang up|ECONNREFUSED/i.test(record.message)) return true;
    return visit(record.cause) || visit(record.error);
  };
  return visit(err);
}

export function isNonceError(err: unknown): boolean {
  if (isError(err, 'NONCE_EXPIRED') || isError(err, 'REPLACEMENT_UNDERPRICED')) return true;
  const message = err instanceof Error ? err.message : String(err);
  return /nonce too (low|high)|nonce has already been used|replacement transaction underpriced|already imported/i.test(message);
}

export function isAlreadyKnown(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /already known|known transaction|transaction already exists/i.test(message);
}

const INSUFFICIENT = new Set(['ERC20InsufficientBalance', 'ERC20InsufficientAllowance']);

/**
 * Translate a failed simulation, send or receipt. Settlement__AlreadySettled is handled by the
 * caller (it is a success), so it maps to ErrorType.AlreadySettled here.
 */
/** An error from the chain or the way to it: typed already, raised by ethers (it carries a shortMessage), or a network failure. */
export function isChainError(err: unknown): boolean {
  return err instanceof DomainError || (err instanceof Error && 'shortMessage' in err) || isNetworkError(err);
}

export function toDomainError(err: unknown, context: string): DomainError {
  if (err instanceof DomainError) return err;
  const decoded = decodeRevert(err);
  if (decoded) {
    const args = decoded.args.toArray().map((a: unknown) => (typeof a === 'bigint' ? a.toString() : a));
    if (decoded.name === 'Settlement__AlreadySettled') {
      return new DomainError(ErrorType.AlreadySettled, `${context}: purchase already settled`, { revert: decoded.name });
    }
    if (INSUFFICIENT.has(decoded.name)) {
      return new DomainError(ErrorType.InsufficientTreasury, `${context}: ${decoded.name}`, { revert: decoded.name, args });
    }
    if (decoded.name === 'Error' && /exceeds (balance|allowance)|insufficient (balance|allowance)/i.test(String(args[0]))) {
      return new DomainError(ErrorType.InsufficientTreasury, `${context}: ${String(args[0])}`, { revert: 'Error', args });
    }
    return new DomainError(ErrorType.SettlementRejected, `${context}: reverted with ${decoded.signature}`, { revert: decoded.name, args });
  }
  if (isError(err, 'INSUFFICIENT_FUNDS')) {
    // The settler cannot pay gas: an ops problem that a top-up fixes, so keep it retryable.
    return new DomainError(ErrorType.RpcUnavailable, `${context}: settler account cannot pay for gas`, {
      reason: 'settler_insufficient_funds',
    });
  }
  if (isNetworkError(err)) {
    return new DomainError(ErrorType.RpcUnavailable, `${context}: EVM RPC unavailable`, {
      reason: err instanceof Error ? err.message.slice(0, 200) : 'unknown',
    });
  }
  if (isError(err, 'CALL_EXCEPTION')) {
    return new DomainError(ErrorType.SettlementRejected, `${context}: reverted${err.reason ? ` (${err.reason})` : ''}`, {
      revert: err.reason ?? null,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new DomainError(ErrorType.SettlementRejected, `${context}: ${message.slice(0, 300)}`);
}
