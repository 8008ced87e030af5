import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { z } from 'zod';
import { PrismaClient } from '../../generated/prisma/client';

/** Prisma Client, and the pg pool under it for the few statements on the hot paths (`preparedQuery`). */
export interface Db extends PrismaClient {
  readonly pool: pg.Pool;
}
export { Prisma } from '../../generated/prisma/client';

/** Prisma Client 7 through the pg driver adapter (no native query engine), on a pool it shares with `preparedQuery`. */
export function createDb(databaseUrl: string, opts: { poolSize?: number } = {}): Db {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: opts.poolSize ?? 10, connectionTimeoutMillis: 5_000 });
  // An idle connection that fails (PostgreSQL restarted) is dropped by the pool and the next query
  // opens another; unhandled, the pool's error event would end the process.
  pool.on('error', () => undefined);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  const disconnectPrisma = prisma.$disconnect.bind(prisma);
  return Object.assign(prisma, {
    pool,
    // Prisma leaves a pool it was given open: end it here, whether or not Prisma ever connected.
    async $disconnect() {
      await disconnectPrisma();
      if (!pool.ended) await pool.end();
    },
  });
}

/** A statement prepared by name on each connection of the pool. */
export interface PreparedStatement {
  /** unique per statement text */
  name: string;
  text: string;
}

/**
 * Runs `statement` with `values` straight on the pg pool, each row checked against `row`. The
 * statement is parsed and planned once per connection, not once per call, and skips Prisma's query
 * pipeline: for the statements run once or more per webhook or status poll (storing and acting on
 * an event, the status read), where Prisma's `$queryRaw` cost about five times the CPU and latency
 * of the statement itself. Everything else goes through Prisma. Dates go in as ISO text (cast in
 * the SQL) so the session's time zone never applies.
 */
export async function preparedQuery<Row>(
  db: Db,
  statement: PreparedStatement,
  values: readonly (string | number | boolean | null | readonly string[])[],
  row: z.ZodType<Row>,
): Promise<Row[]> {
  const result = await db.pool.query({ name: statement.name, text: statement.text, values: [...values] });
  return result.rows.map((r: unknown) => row.parse(r));
}
