/**
 * The baseline's worker, in its own process like the engine's: same Temporal server and
 * namespace, its own task queue (BENCH_BASELINE_TASK_QUEUE), the engine worker's shutdown grace and
 * heartbeat throttle. Its workflow task slots and cache are the SDK's defaults, the fastest this
 * shape runs: the engine's smaller ones, which bound the engine worker's memory, made the baseline
 * evict and replay its own runs at 200 in flight (13.0 → 7.9 runs/s) and would flatter the ratio.
 *   node --import tsx bench/baseline/worker.ts
 */
import path from 'node:path';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { HEARTBEAT_INTERVAL_MS } from '../../src/activities/heartbeat';
import { loadConfig } from '../../src/config';
import { connectTemporalWorker } from '../../src/runtime';
import { createBaselineActivities } from './activities';

export const BASELINE_TASK_QUEUE_VARIABLE = 'BENCH_BASELINE_TASK_QUEUE';

async function main(): Promise<void> {
  const config = loadConfig();
  const taskQueue = process.env[BASELINE_TASK_QUEUE_VARIABLE] ?? 'bench-baseline';
  Runtime.install({ logger: new DefaultLogger('WARN') });
  // Bundled before connecting, so the bundle's CPU is spent before anything is measured.
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: path.join(__dirname, 'workflows.ts'),
    logger: new DefaultLogger('WARN'),
  });
  const connection = await connectTemporalWorker(config);
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue,
    workflowBundle,
    activities: createBaselineActivities(),
    shutdownGraceTime: '5 seconds',
    maxHeartbeatThrottleInterval: HEARTBEAT_INTERVAL_MS,
  });
  process.stdout.write(`baseline worker polling ${taskQueue}\n`);
  await worker.run();
  await connection.close();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`baseline worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
