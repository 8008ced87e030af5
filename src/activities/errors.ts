/**
 * Domain errors leave every activity as typed ApplicationFailures, in one place: the worker's
 * activity interceptor. Activities throw `DomainError`s (or anything else) and never wrap them.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { isDomainError, NON_RETRYABLE_ERROR_TYPES } from '../shared/errors';

/** A DomainError as an ApplicationFailure: its type, non-retryable when the registry says so, its details. */
function toApplicationFailure(err: unknown): unknown {
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

/** Converts what an activity throws with toApplicationFailure; registered innermost, so the other interceptors see the typed failure. */
export const domainErrorInterceptor: ActivityInterceptorsFactory = () => ({
  inbound: {
    async execute(input, next) {
      try {
        return await next(input);
      } catch (err) {
        throw toApplicationFailure(err);
      }
    },
  },
});

function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
}
