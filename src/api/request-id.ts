/**
 * A request id on every response (`X-Request-Id`) and on every log line written while serving the
 * request. A caller's id (a load balancer's, say) is kept when it is short and plain; anything else
 * is replaced, so a client cannot inject text into the logs.
 */
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { runWithRequestId } from '../observability/log-context';

export const REQUEST_ID_HEADER = 'X-Request-Id';
const ACCEPTED = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

declare module 'express-serve-static-core' {
  interface Request {
    requestId?: string;
  }
}

export function requestId(): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get(REQUEST_ID_HEADER);
    const id = incoming !== undefined && ACCEPTED.test(incoming) ? incoming : randomUUID();
    req.requestId = id;
    res.set(REQUEST_ID_HEADER, id);
    runWithRequestId(id, next);
  };
}
