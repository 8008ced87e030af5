import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Client } from 'pg';
import { freshDatabaseUrl, adminUrl } from '../helpers/db';

const root = path.resolve(__dirname, '../..');

/** Columns, types, nullability, defaults, indexes and constraints of the public schema. */
async function catalog(url: string): Promise<string[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const cols = await c.query(`SELECT table_name, column_name, data_type, is_nullable, column_default
      FROM information_schema.columns WHERE table_schema='public' AND table_name <> '_prisma_migrations' ORDER BY 1,2`);
    const idx = await c.query(
      `SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname='public' AND tablename <> '_prisma_migrations' ORDER BY 1,2`,
    );
    const cons = await c.query(`SELECT conrelid::regclass::text AS t, conname, pg_get_constraintdef(oid) AS d FROM pg_constraint
      WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text NOT LIKE '%_prisma_migrations%' ORDER BY 1,2`);
    return [...cols.rows, ...idx.rows, ...cons.rows].map((r) => JSON.stringify(r));
  } finally {
    await c.end();
  }
}

it('a freshly migrated database matches schema.prisma (no drift)', async () => {
  // Database A: built by applying prisma/migrations (the template the other tests clone).
  const migrated = await freshDatabaseUrl();
  // Database B: built straight from schema.prisma by Prisma's own engine.
  const name = `drift_${Date.now()}`;
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const fromSchema = new URL(adminUrl());
  fromSchema.pathname = `/${name}`;
  const sql = execFileSync(process.execPath, [path.join(root, 'scripts/migrate.mjs'), 'schema-sql', fromSchema.toString()], {
    encoding: 'utf8',
  });
  const c = new Client({ connectionString: fromSchema.toString() });
  await c.connect();
  await c.query(sql);
  await c.end();

  const [a, b] = await Promise.all([catalog(migrated), catalog(fromSchema.toString())]);
  expect(a.length).toBeGreaterThan(50);
  expect(a).toEqual(b);
});

it('applying the migrations again is a no-op', () => {
  const url = adminUrl().replace(/\/postgres$/, '/settlement_template');
  const out = execFileSync(process.execPath, [path.join(root, 'scripts/migrate.mjs'), 'deploy', url], { encoding: 'utf8' });
  expect(out).toMatch(/up to date/);
});
