/** Worker entry point: builds real dependencies, registers workflows and activities, runs until signalled. */
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities, type ActivityDeps } from './activities';
import { loadConfig, type Config } from './config';
import { ensureLedgerAccounts } from './db/ledger';
import { createLogger } from './logger';
import { connectTemporalWorker, createDb, createRails, createStripe } from './runtime';
import { durationMs } from './shared/duration';

export interface WorkerParts {
  connection: NativeConnection;
  config: Readonly<Config>;
  deps: ActivityDeps;
  /** a prebuilt bundle (tests build it once per file); otherwise the worker bundles src/workflows */
  workflowBundle?: WorkerOptions['workflowBundle'];
  taskQueue?: string;
}

export function createWorker({ connection, config, deps, workflowBundle, taskQueue }: WorkerParts): Promise<Worker> {
  return Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: taskQueue ?? config.TEMPORAL_TASK_QUEUE,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: require.resolve('./workflows') }),
    activities: createActivities(deps),
    // Graceful stop: let running activities finish before the process exits.
    shutdownGraceTime: '10 seconds',
  });
}

export function buildActivityDeps(config: Readonly<Config>, logger: Logger): ActivityDeps {
  return {
    db: createDb(config.databaseUrl),
    stripe: createStripe(config),
    rails: createRails(config, logger),
    holdTtlMs: durationMs(config.HOLD_TTL),
    logger,
    alertWebhookUrl: config.ALERT_WEBHOOK_URL,
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'worker' });
  const deps = buildActivityDeps(config, logger);
  await ensureLedgerAccounts(deps.db);
  const connection = await connectTemporalWorker(config);
  const worker = await createWorker({ connection, config, deps });
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, namespace: config.TEMPORAL_NAMESPACE, rails: Object.keys(deps.rails) }, 'worker started');
  await worker.run();
  await deps.db.$disconnect();
  await connection.close();
  logger.info('worker stopped');
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
