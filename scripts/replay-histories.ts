/**
 * Replays recorded workflow histories (proto-JSON, as `temporal workflow show --output json` or the
 * Temporal UI's download writes them) against the current workflow code, and exits non-zero when any
 * of them no longer replays: the determinism guard for workflow changes.
 *
 *   tsx scripts/replay-histories.ts [dir]   (default test/fixtures/histories)
 */
import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';

async function main(): Promise<number> {
  const dir = path.resolve(process.argv[2] ?? path.join(__dirname, '../test/fixtures/histories'));
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const histories = files.map((f) => ({
    workflowId: f.replace(/\.json$/, ''),
    history: JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as unknown,
  }));
  let failed = 0;
  for await (const result of Worker.runReplayHistories({ workflowsPath: require.resolve('../src/workflows') }, histories)) {
    if (result.error) failed += 1;
    process.stdout.write(`${result.error ? 'FAIL' : 'ok  '} ${result.workflowId}${result.error ? `: ${result.error.message}` : ''}\n`);
  }
  process.stdout.write(`replayed ${files.length} histories, ${failed} failed\n`);
  return failed === 0 && files.length > 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
