/**
 * The admin audit trail: one row per operator action (admin API, dashboard, ops CLI), whatever its
 * result. Not to be confused with `./audit`, the auditor's read-only snapshot of the books.
 */
import { Prisma, type Db } from './client';

export interface AuditLogRow {
  actor: string;
  action: string;
  target: string;
  reason?: string;
  /** `ok`, or `error:<type>` */
  result: string;
  flagged?: boolean;
  /** any JSON-serialisable value; bigints are written as decimal strings */
  details?: unknown;
}

export async function insertAuditLog(db: Db, { details, ...row }: AuditLogRow): Promise<void> {
  await db.auditLog.create({ data: { ...row, details: toJson(details) } });
}

function toJson(value: unknown): Prisma.InputJsonValue | undefined {
  if (value === undefined) return undefined;
  const json: Prisma.InputJsonValue = JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  return json;
}

/** Whether `action` on `target` has succeeded before; `runId` narrows it to one run (details.runId). */
export async function hasSucceeded(db: Db, action: string, target: string, opts: { runId?: string } = {}): Promise<boolean> {
  const where: Prisma.AuditLogWhereInput = {
    action,
    target,
    result: 'ok',
    ...(opts.runId !== undefined ? { details: { path: ['runId'], equals: opts.runId } } : {}),
  };
  return (await db.auditLog.count({ where })) > 0;
}

export interface AuditFilter {
  actor?: string;
  /** exact, or a prefix ending in `*` */
  action?: string;
  target?: string;
  /** exact, or a prefix ending in `*` */
  result?: string;
  flagged?: boolean;
  since?: Date;
  until?: Date;
  limit?: number;
  /** rows with an id below this (for paging backwards) */
  before?: bigint;
}

const exactOrPrefix = (v: string) => (v.endsWith('*') ? { startsWith: v.slice(0, -1) } : v);

/** Newest first, at most 1000 rows. */
export async function findAuditLog(db: Db, f: AuditFilter) {
  return db.auditLog.findMany({
    where: {
      ...(f.actor ? { actor: f.actor } : {}),
      ...(f.action ? { action: exactOrPrefix(f.action) } : {}),
      ...(f.target ? { target: f.target } : {}),
      ...(f.result ? { result: exactOrPrefix(f.result) } : {}),
      ...(f.flagged !== undefined ? { flagged: f.flagged } : {}),
      ...(f.since || f.until ? { createdAt: { ...(f.since ? { gte: f.since } : {}), ...(f.until ? { lt: f.until } : {}) } } : {}),
      ...(f.before !== undefined ? { id: { lt: f.before } } : {}),
    },
    orderBy: { id: 'desc' },
    take: Math.min(f.limit ?? 100, 1000),
  });
}
