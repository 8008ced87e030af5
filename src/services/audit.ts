/** The admin audit trail as the admin API, the dashboard and the ops CLI use it. */
import type { Db } from '../db/client';
import { findAuditLog, insertAuditLog, type AuditFilter } from '../db/audit-log';

export type { AuditFilter } from '../db/audit-log';

export interface AuditEntry {
  actor: string;
  action: string;
  target: string;
  reason?: string;
  /** terminate and other destructive actions are flagged for review */
  flagged?: boolean;
}

/** Run an admin action and write its audit row whatever the result: who, what, target, reason, result, time. */
export async function audited<T>(db: Db, entry: AuditEntry, action: () => Promise<T>): Promise<T> {
  try {
    const result = await action();
    await insertAuditLog(db, { ...entry, result: 'ok', details: result });
    return result;
  } catch (err) {
    const type = typeof err === 'object' && err !== null && 'type' in err ? String(err.type) : 'error';
    await insertAuditLog(db, { ...entry, result: `error:${type}`, details: { message: err instanceof Error ? err.message : String(err) } });
    throw err;
  }
}

/** Audit rows for the wire: newest first, ids as decimal strings. */
export async function listAudit(db: Db, filter: AuditFilter) {
  const rows = await findAuditLog(db, filter);
  return rows.map((r) => ({
    id: r.id.toString(),
    actor: r.actor,
    action: r.action,
    target: r.target,
    reason: r.reason,
    result: r.result,
    flagged: r.flagged,
    details: r.details,
    createdAt: r.createdAt.toISOString(),
  }));
}
