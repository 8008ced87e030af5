/**
 * Stable error type strings. Activities throw ApplicationFailure with one of these as `type`;
 * workflows list the non-retryable ones in `nonRetryableErrorTypes`; the API maps them to HTTP codes.
 * Never derive an error's identity from constructor.name.
 */
export const ErrorType = {
  // input
  ValidationFailed: 'validation_failed',
  InvalidWallet: 'invalid_wallet',
  InvalidSplits: 'invalid_splits',
  NotFound: 'not_found',
  Conflict: 'conflict',
  Unauthorized: 'unauthorized',
  Forbidden: 'forbidden',
  InvalidSignature: 'invalid_signature',
  PayloadTooLarge: 'payload_too_large',
  RateLimited: 'rate_limited',
  MethodNotAllowed: 'method_not_allowed',
  // money / chain
  InsufficientTreasury: 'insufficient_treasury',
  AlreadySettled: 'already_settled',
  SettlementRejected: 'settlement_rejected',
  BlockhashExpired: 'blockhash_expired',
  RpcUnavailable: 'rpc_unavailable',
  FeeNotYetAvailable: 'fee_not_yet_available',
  PaymentNotSucceeded: 'payment_not_succeeded',
  PurchaseAborted: 'purchase_aborted',
  // how a purchase run ended before the pivot (recorded on the purchase, never thrown by an activity)
  ApprovalRejected: 'approval_rejected',
  Cancelled: 'cancelled',
  Internal: 'internal_error',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** Errors that retrying cannot fix: the workflow fails fast on these. */
export const NON_RETRYABLE_ERROR_TYPES: readonly ErrorType[] = [
  ErrorType.ValidationFailed,
  ErrorType.InvalidWallet,
  ErrorType.InvalidSplits,
  ErrorType.NotFound,
  ErrorType.SettlementRejected,
  ErrorType.PaymentNotSucceeded,
  ErrorType.PurchaseAborted,
];

/** A typed domain error carried across layers; sandbox-safe (no Temporal imports). */
export class DomainError extends Error {
  constructor(
    readonly type: ErrorType,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export function isDomainError(err: unknown, type?: ErrorType): err is DomainError {
  return err instanceof DomainError && (type === undefined || err.type === type);
}
