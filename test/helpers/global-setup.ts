/**
 * One PostgreSQL server and one dev Stripe (stateful, in front of one stripe-mock) for the whole jest
 * run; every file's payments live side by side in it, each under its own ids. Each test file clones a fresh,
 * migrated database from a template and starts its own Temporal dev server (test/helpers/temporal.ts).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../dev/postgres';
import { freePort, waitForPort } from '../../dev/net';
import { PROJECT_ROOT, resolveTool, stripeMockArgs, stripeMockEnv } from '../../dev/tools';
import { startDevStripe, type DevStripe } from '../../dev/dev-stripe/server';

export const TEMPLATE_DB = 'settlement_template';

declare global {
  var __testInfra: { pg: EmbeddedPostgresHandle; stripeMock: ChildProcess; devStripe: DevStripe; dir: string } | undefined;
}

export default async function globalSetup(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'settlement-test-'));
  const pgPort = await freePort();
  const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: pgPort });
  await pg.createDatabase(TEMPLATE_DB);
  execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts/migrate.mjs'), 'deploy', pg.databaseUrl(TEMPLATE_DB)], {
    stdio: 'pipe',
  });

  const stripeMockPath = resolveTool('stripe-mock', process.env.STRIPE_MOCK_PATH, process.env.PATH ?? '');
  if (!stripeMockPath) throw new Error('stripe-mock is not installed: run `npm run setup`');
  const stripePort = await freePort();
  const stripeMock = spawn(stripeMockPath, stripeMockArgs(stripePort), { stdio: 'ignore', env: stripeMockEnv() });
  await waitForPort(stripePort);
  const devStripe = await startDevStripe({
    upstream: `http://127.0.0.1:${stripePort}`,
    stateFile: path.join(dir, 'dev-stripe', 'state.jsonl'),
  });

  process.env.TEST_PG_ADMIN_URL = pg.adminUrl;
  process.env.TEST_STRIPE_API_BASE = devStripe.url;
  process.env.TEST_STRIPE_MOCK_BASE = `http://127.0.0.1:${stripePort}`;
  process.env.TEST_TMP_DIR = dir;
  globalThis.__testInfra = { pg, stripeMock, devStripe, dir };
}
