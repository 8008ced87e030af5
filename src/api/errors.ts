import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { DomainError, ErrorType } from '../shared/errors';
import { errorTypeOfIssues } from './validators';

/** An error the API answers with a specific status; everything else is masked as 500. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const STATUS_BY_TYPE: Record<string, number> = {
  [ErrorType.ValidationFailed]: 400,
  [ErrorType.InvalidWallet]: 400,
  [ErrorType.InvalidSplits]: 400,
  [ErrorType.InvalidSignature]: 400,
  [ErrorType.Unauthorized]: 401,
  [ErrorType.Forbidden]: 403,
  [ErrorType.NotFound]: 404,
  [ErrorType.Conflict]: 409,
  [ErrorType.PayloadTooLarge]: 413,
  [ErrorType.RateLimited]: 429,
  [ErrorType.MethodNotAllowed]: 405,
  [ErrorType.RpcUnavailable]: 503,
};

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let status = 500;
    let body: { type: string; message: string; details?: unknown } = { type: ErrorType.Internal, message: 'internal error' };
    if (err instanceof HttpError) {
      status = err.status;
      body = { type: err.type, message: err.message, details: err.details };
    } else if (err instanceof DomainError) {
      status = STATUS_BY_TYPE[err.type] ?? 500;
      body = status === 500 ? body : { type: err.type, message: err.message };
    } else if (err instanceof ZodError) {
      status = 400;
      body = {
        type: errorTypeOfIssues(err.issues),
        message: 'request validation failed',
        details: err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      };
    } else if (isBodyParserError(err)) {
      status = err.status;
      body =
        err.type === 'entity.too.large'
          ? { type: ErrorType.PayloadTooLarge, message: 'request body too large' }
          : { type: ErrorType.ValidationFailed, message: 'malformed request body' };
    } else if (isClientError(err)) {
      // Express's own 4xx, such as a path parameter that is not valid percent-encoding.
      status = 400;
      body = { type: ErrorType.ValidationFailed, message: 'malformed request' };
    }
    if (status >= 500) logger.error({ err, path: req.path }, 'request failed');
    res.status(status).json({ error: body });
  };
}

function isBodyParserError(err: unknown): err is { status: number; type: string } {
  return (
    (typeof err === 'object' &&
      err !== null &&
      'type' in err &&
      'status' in err &&
      typeof (err as { status: unknown }).status === 'number' &&
      String((err as { type: unknown }).type).startsWith('entity.')) ||
    (typeof err === 'object' && err !== null && (err as { type?: unknown }).type === 'encoding.unsupported')
  );
}

function isClientError(err: unknown): boolean {
  const status = typeof err === 'object' && err !== null && 'status' in err ? err.status : undefined;
  return typeof status === 'number' && status >= 400 && status < 500;
}
