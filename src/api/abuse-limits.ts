/**
 * Per-client abuse limits (express-rate-limit, in-memory per API process) and the admin pages'
 * security headers (helmet). Blocked requests go through the one error handler as a typed 429.
 */
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import type { Config } from '../config';
import { durationMs } from '../shared/duration';
import { ErrorType } from '../shared/errors';
import { HttpError } from './errors';

type LimitConfig = Pick<Config, 'RATE_LIMIT_WINDOW' | 'CHECKOUT_RATE_LIMIT' | 'ADMIN_AUTH_FAILURE_LIMIT'>;

const pass: RequestHandler = (_req, _res, next) => next();

function limiter(limit: number, windowMs: number, message: string, extra: Partial<Parameters<typeof rateLimit>[0]> = {}): RequestHandler {
  if (limit === 0) return pass;
  return rateLimit({
    windowMs,
    limit,
    // RateLimit / RateLimit-Policy on every counted response, Retry-After on a 429.
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (_req, _res, next) =>
      next(new HttpError(429, ErrorType.RateLimited, message, { retryAfterSeconds: Math.ceil(windowMs / 1000) })),
    ...extra,
  });
}

/** Checkout creation per client: each one costs a Stripe Checkout Session and a purchase row. */
export function checkoutRateLimit(config: LimitConfig): RequestHandler {
  return limiter(
    config.CHECKOUT_RATE_LIMIT,
    durationMs(config.RATE_LIMIT_WINDOW),
    'too many checkout sessions from this client; retry later',
  );
}

/**
 * Failed admin authentications per client (401s only): a client that keeps guessing tokens is
 * refused, even with a right one, until the window has passed.
 */
export function adminAuthFailureLimit(config: LimitConfig): RequestHandler {
  return limiter(
    config.ADMIN_AUTH_FAILURE_LIMIT,
    durationMs(config.RATE_LIMIT_WINDOW),
    'too many failed admin authentications from this client; retry later',
    {
      skipSuccessfulRequests: true,
      requestWasSuccessful: (_req, res) => res.statusCode !== 401,
    },
  );
}

/**
 * helmet's headers for /admin, with a CSP the page works under: its one script is served from
 * 'self', its one inline <style> is allowed by hash (other sheets only from 'self'), and it only fetches its own origin.
 */
export function adminSecurityHeaders(inlineStyle: string): RequestHandler {
  const styleHash = `'sha256-${createHash('sha256').update(inlineStyle, 'utf8').digest('base64')}'`;
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // the inline sheet by hash, and the chart library's sheet from /admin/static
        styleSrc: [styleHash, "'self'"],
        imgSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    referrerPolicy: { policy: 'no-referrer' },
  });
}
