import { randomBytes } from 'node:crypto';
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
