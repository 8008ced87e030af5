import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ErrorType } from '../shared/errors';
import { HttpError } from './errors';

export type AdminRole = 'admin' | 'readonly';

const digest = (v: string) => createHash('sha256').update(v).digest();
/** Hashing first gives equal-length buffers, so the comparison time does not depend on the token. */
const same = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

declare module 'express-serve-static-core' {
  interface Request {
    adminRole?: AdminRole;
  }
}

/** Bearer ADMIN_TOKEN for everything; the optional read-only token only for GET. */
export function adminAuth(tokens: { admin: string; readonly?: string }): RequestHandler {
  return (req, _res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    const token = match?.[1];
    if (!token) return next(new HttpError(401, ErrorType.Unauthorized, 'missing bearer token'));
    if (same(token, tokens.admin)) {
      req.adminRole = 'admin';
      return next();
    }
    if (tokens.readonly && same(token, tokens.readonly)) {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return next(new HttpError(403, ErrorType.Forbidden, 'the read-only token cannot perform actions'));
      req.adminRole = 'readonly';
      return next();
    }
    return next(new HttpError(401, ErrorType.Unauthorized, 'invalid bearer token'));
  };
}

export const actorOf = (role: AdminRole | undefined): string => (role === 'readonly' ? 'admin-readonly' : 'admin');
