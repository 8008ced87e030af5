import type { Db } from '../db/client';
import { Prisma } from '../db/client';

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
    await db.auditLog.create({ data: { ...entry, result: 'ok', details: toJson(result) } });
    return result;
  } catch (err) {
    const type = typeof err === 'object' && err !== null && 'type' in err ? String((err as { type: unknown }).type) : 'error';
    await db.auditLog.create({ data: { ...entry, result: `error:${type}`, details: { message: err instanceof Error ? err.message : String(err) } } });
    throw err;
  }
}

function toJson(value: unknown): Prisma.InputJsonValue | undefined {
  if (value === undefined) return undefined;
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) as Prisma.InputJsonValue;
}
