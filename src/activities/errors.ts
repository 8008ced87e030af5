import { ApplicationFailure } from '@temporalio/common';
import { isDomainError, NON_RETRYABLE_ERROR_TYPES, ErrorType } from '../shared/errors';

/** Run an activity body and convert DomainErrors into typed ApplicationFailures. */
export async function typed<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw toApplicationFailure(err);
  }
}

export function toApplicationFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (isDomainError(err)) {
    return ApplicationFailure.create({
      type: err.type,
      message: err.message,
      nonRetryable: NON_RETRYABLE_ERROR_TYPES.includes(err.type),
      details: err.details ? [jsonSafe(err.details)] : undefined,
    });
  }
  return err;
}

function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
}

export { ErrorType };
