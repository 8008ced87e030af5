import type { Db } from './client';

/** The readiness probe: one round trip to PostgreSQL. */
export async function pingDatabase(db: Db): Promise<void> {
  await db.$queryRaw`SELECT 1`;
}
