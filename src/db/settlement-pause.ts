/**
 * The emergency pause, durable in one SettlementControl row, and the gate every purchase run passes
 * before its on-chain pivot. The gate reads the row with FOR SHARE and marks the purchase `settling`
 * in the same transaction; the pause takes the row FOR UPDATE. So the pause waits for gates already
 * open to commit, every gate after it sees it, and the purchases `settling` when it commits are
 * exactly the sends it lets finish.
 */
import { PurchaseStatus } from '../shared/status';
import type { Db, Prisma } from './client';

const CONTROL_ID = 'settlement';

export interface SettlementPauseState {
  paused: boolean;
  reason: string | null;
  actor: string | null;
  /** when the switch last changed; null when it never has */
  changedAt: Date | null;
}

const stateOf = (row: { paused: boolean; reason: string | null; actor: string | null; changedAt: Date } | null): SettlementPauseState =>
  row
    ? { paused: row.paused, reason: row.reason, actor: row.actor, changedAt: row.changedAt }
    : { paused: false, reason: null, actor: null, changedAt: null };

const ensureRow = (tx: Prisma.TransactionClient) =>
  tx.$executeRaw`INSERT INTO "SettlementControl" ("id", "paused") VALUES (${CONTROL_ID}, false) ON CONFLICT DO NOTHING`;

export async function settlementPauseState(db: Db): Promise<SettlementPauseState> {
  return stateOf(await db.settlementControl.findUnique({ where: { id: CONTROL_ID } }));
}

export interface PauseChange {
  /** false when the switch was already in the requested position (nothing written) */
  changed: boolean;
  state: SettlementPauseState;
  /** purchases past the gate (status `settling`) when the change committed: sends a pause lets finish */
  settling: string[];
}

/** Turn the pause on or off. Repeating the current position changes nothing and keeps its reason. */
export async function setSettlementPaused(
  db: Db,
  input: { paused: boolean; actor: string; reason: string | null; now?: Date },
): Promise<PauseChange> {
  return db.$transaction(async (tx) => {
    await ensureRow(tx);
    const rows = await tx.$queryRaw<{ paused: boolean }[]>`SELECT "paused" FROM "SettlementControl" WHERE "id" = ${CONTROL_ID} FOR UPDATE`;
    const changed = rows[0]?.paused !== input.paused;
    const row = changed
      ? await tx.settlementControl.update({
          where: { id: CONTROL_ID },
          data: { paused: input.paused, actor: input.actor, reason: input.reason, changedAt: input.now ?? new Date() },
        })
      : await tx.settlementControl.findUniqueOrThrow({ where: { id: CONTROL_ID } });
    const settling = await tx.purchase.findMany({
      where: { status: PurchaseStatus.Settling },
      select: { id: true },
      orderBy: { updatedAt: 'asc' },
    });
    return { changed, state: stateOf(row), settling: settling.map((p) => p.id) };
  });
}

/**
 * The gate before the pivot: unless the pause is on, mark the purchase `settling` and let it send;
 * while it is on, mark it `paused`. Safe to repeat.
 */
export async function enterSettlement(db: Db, purchaseId: string): Promise<{ entered: boolean }> {
  // The common case in one statement (its own transaction): the row read FOR SHARE, the purchase
  // marked in the same statement, the share lock held until it commits.
  const settling = PurchaseStatus.Settling;
  const paused = PurchaseStatus.Paused;
  const [gate] = await db.$queryRaw<{ paused: boolean }[]>`
    WITH control AS (SELECT "paused" FROM "SettlementControl" WHERE "id" = ${CONTROL_ID} FOR SHARE),
    marked AS (
      UPDATE "Purchase" SET
        "status" = CASE WHEN control."paused" THEN ${paused} ELSE ${settling} END,
        "version" = "version" + 1,
        "updatedAt" = ${new Date()}
      FROM control
      WHERE "Purchase"."id" = ${purchaseId} AND "Purchase"."status" <> CASE WHEN control."paused" THEN ${paused} ELSE ${settling} END
    )
    SELECT "paused" FROM control`;
  if (gate) return { entered: !gate.paused };
  // No control row yet (a database the pause was never used on): create it, then as above.
  return db.$transaction(async (tx) => {
    let rows = await tx.$queryRaw<{ paused: boolean }[]>`SELECT "paused" FROM "SettlementControl" WHERE "id" = ${CONTROL_ID} FOR SHARE`;
    if (rows.length === 0) {
      await ensureRow(tx);
      rows = await tx.$queryRaw<{ paused: boolean }[]>`SELECT "paused" FROM "SettlementControl" WHERE "id" = ${CONTROL_ID} FOR SHARE`;
    }
    const entered = rows[0]?.paused !== true;
    const status = entered ? PurchaseStatus.Settling : PurchaseStatus.Paused;
    await tx.purchase.updateMany({ where: { id: purchaseId, status: { not: status } }, data: { status, version: { increment: 1 } } });
    return { entered };
  });
}

/** Purchases waiting on the pause, oldest first: the runs a resume wakes. */
export async function listPausedPurchaseIds(db: Db, limit: number): Promise<string[]> {
  const rows = await db.purchase.findMany({
    where: { status: PurchaseStatus.Paused },
    select: { id: true },
    orderBy: { updatedAt: 'asc' },
    take: limit,
  });
  return rows.map((r) => r.id);
}
