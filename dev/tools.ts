/** Where the embedded stack's external binaries are: an override, the project's .tools/bin, or PATH. */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { childProcessEnv, executablePath } from '../src/config';

export const PROJECT_ROOT = path.resolve(__dirname, '..');
/** programs/settlement's SBPF v3 build (`npm run build:program`, scripts/build-program.mjs). */
export const SETTLEMENT_PROGRAM_SO = path.join(PROJECT_ROOT, 'programs', 'settlement', 'target', 'deploy', 'settlement.so');

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function resolveTool(
  name: 'temporal' | 'stripe-mock' | 'anvil' | 'surfpool' | 'vegeta',
  override: string | undefined,
  pathEnv: string = executablePath(),
): string | undefined {
  if (override) return override;
  const local =
    name === 'anvil' ? path.join(PROJECT_ROOT, 'node_modules', '.bin', 'anvil') : path.join(PROJECT_ROOT, '.tools', 'bin', name);
  if (executable(local)) return local;
  return pathEnv
    .split(path.delimiter)
    .map((dir) => path.join(dir, name))
    .find(executable);
}

/**
 * HTTP on `port` only: an ephemeral HTTPS port, so a second stripe-mock never fights over 12112.
 * stripe-mock runs on its stock fixtures behind the dev Stripe (./dev-stripe), which owns payments.
 */
export function stripeMockArgs(port: number): string[] {
  return ['-http-addr', `127.0.0.1:${port}`, '-https-addr', '127.0.0.1:'];
}

/** stripe-mock also binds $PORT when it is set, which is the API's port: never pass it on. */
export const stripeMockEnv = (): NodeJS.ProcessEnv => childProcessEnv({}, ['PORT']);

/**
 * The Temporal dev server's settings for a shorter round trip, passed by `npm start`, the bench and
 * the tests' servers. SQLite in WAL mode with `synchronous=normal` commits without an fsync per
 * transaction (a killed server keeps every committed write; only a power loss can drop the last
 * ones). One task-queue partition: with one worker process, four partitions only forward tasks
 * between them. Eager activity execution stays off: it saves a trip through matching for one run
 * alone, but under the chaos run's worker kills it stalled settlements (see the README's Performance).
 */
export function temporalDevServerArgs(): string[] {
  return [
    ...['journal_mode=wal', 'synchronous=normal'].flatMap((pragma) => ['--sqlite-pragma', pragma]),
    ...['matching.numTaskqueueReadPartitions=1', 'matching.numTaskqueueWritePartitions=1'].flatMap((value) => [
      '--dynamic-config-value',
      value,
    ]),
  ];
}
