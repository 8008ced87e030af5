#!/usr/bin/env node
// Prisma migrations without the native schema-engine download: Prisma's own engine compiled to wasm
// (@prisma/schema-engine-wasm) driven through the pg driver adapter. Same prisma/migrations layout and
// `_prisma_migrations` bookkeeping as `prisma migrate deploy`, which works unchanged where the
// native engine can be downloaded.
//
//   node scripts/migrate.mjs deploy <databaseUrl>   apply pending migrations
//   node scripts/migrate.mjs schema-sql <url>       print the SQL that creates schema.prisma from nothing
//   node scripts/migrate.mjs create <name> <url>    write a new migration from the migrations to schema.prisma
import { readFileSync, readdirSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const schemaPath = path.join(root, 'prisma', 'schema.prisma');
const migrationsDir = path.join(root, 'prisma', 'migrations');

async function loadEngine(databaseUrl) {
  const bg = await import('@prisma/schema-engine-wasm/schema_engine_bg');
  const wasmPath = path.join(path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg')), 'schema_engine_bg.wasm');
  const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), { './schema_engine_bg.js': bg });
  bg.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start?.();
  const { PrismaPg } = require('@prisma/adapter-pg');
  const { bindMigrationAwareSqlAdapterFactory } = require('@prisma/driver-adapter-utils');
  const adapter = bindMigrationAwareSqlAdapterFactory(wholeScripts(new PrismaPg({ connectionString: databaseUrl })));
  const logs = [];
  const engine = await bg.SchemaEngine.new(
    { datamodels: [[schemaPath, readFileSync(schemaPath, 'utf8')]] },
    (line) => logs.push(line),
    adapter,
  );
  return engine;
}

/**
 * The pg adapter runs a migration script by splitting it at every ';', which cuts dollar-quoted
 * bodies (functions, triggers) apart. The native engine sends the script whole, and so does this:
 * PostgreSQL's simple query protocol runs a multi-statement script as it is, in one implicit
 * transaction.
 */
function wholeScripts(factory) {
  const patch = (adapter) => {
    adapter.executeScript = async (script) => {
      try {
        await adapter.client.query(script);
      } catch (err) {
        adapter.onError(err);
      }
    };
    return adapter;
  };
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => patch(await factory.connect()),
    connectToShadowDb: async () => patch(await factory.connectToShadowDb()),
  };
}

function migrationList() {
  const dirs = existsSync(migrationsDir)
    ? readdirSync(migrationsDir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort()
    : [];
  const lockPath = path.join(migrationsDir, 'migration_lock.toml');
  return {
    baseDir: migrationsDir,
    lockfile: { path: 'migration_lock.toml', content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: dirs.map((name) => {
      const file = path.join(migrationsDir, name, 'migration.sql');
      return {
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: existsSync(file) ? { tag: 'ok', value: readFileSync(file, 'utf8') } : { tag: 'error', value: 'missing migration.sql' },
        },
      };
    }),
  };
}

const noFilters = { externalTables: [], externalEnums: [] };
const schemaTarget = { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: readFileSync(schemaPath, 'utf8') }] };

async function main() {
  const [command, arg] = process.argv.slice(2);
  if (command === 'deploy') {
    const engine = await loadEngine(arg);
    const out = await engine.applyMigrations({ migrationsList: migrationList(), filters: noFilters });
    const applied = out.appliedMigrationNames ?? [];
    process.stdout.write(applied.length ? `applied migrations: ${applied.join(', ')}\n` : 'database schema is up to date\n');
    return 0;
  }
  if (command === 'schema-sql') {
    // The SQL that builds schema.prisma from nothing; the drift test applies it to a scratch
    // database and compares that catalog with a migrated one (the wasm engine cannot diff a URL).
    const engine = await loadEngine(arg);
    const out = await engine.diff({ from: { tag: 'empty' }, to: schemaTarget, script: true, exitCode: false, filters: noFilters });
    process.stdout.write(out.stdout ?? '');
    return 0;
  }
  if (command === 'create') {
    if (!arg || !/^[a-z0-9_]+$/.test(arg)) throw new Error('usage: migrate.mjs create <snake_case_name>');
    const engine = await loadEngine(process.argv[4] ?? 'postgresql://postgres:postgres@127.0.0.1:54329/postgres');
    const list = migrationList();
    const from = list.migrationDirectories.length ? { tag: 'migrations', ...list } : { tag: 'empty' };
    const out = await engine.diff({ from, to: schemaTarget, script: true, exitCode: true, filters: noFilters });
    if (out.exitCode !== 2) {
      process.stdout.write('schema.prisma matches the migrations: nothing to create\n');
      return 0;
    }
    const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
    const dir = path.join(migrationsDir, `${stamp}_${arg}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'migration.sql'), out.stdout ?? '');
    const lock = path.join(migrationsDir, 'migration_lock.toml');
    if (!existsSync(lock))
      writeFileSync(
        lock,
        '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n',
      );
    process.stdout.write(`wrote ${path.relative(root, dir)}/migration.sql\n`);
    return 0;
  }
  throw new Error('usage: migrate.mjs deploy <url> | drift <url> | create <name>');
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`[migrate] ${err?.message ?? String(err)}\n`);
    process.exit(1);
  },
);
