/** Worker entry point: builds real dependencies, registers workflows and activities, runs until signalled. */
import type { Client } from '@temporalio/client';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities, type ActivityDeps } from './activities';
import { domainErrorInterceptor } from './activities/errors';
import { HEARTBEAT_INTERVAL_MS } from './activities/heartbeat';
import { loadConfig, type Config } from './config';
import { ensureLedgerAccounts } from './db/ledger';
import { createLogger } from './logger';
import { connectTemporalClient, connectTemporalWorker, createDb, createRails, createStripe } from './runtime';
import { ensureSchedules } from './services/schedules';
import { durationMs } from './shared/duration';
import { healthThresholdsOf } from './activities/health';
import { activityObservability } from './observability/activity-metrics';
import { otelWorkerInterceptors } from './observability/otel';
import { installWorkerRuntime } from './observability/runtime';
import { prebuiltWorkflowBundle } from './prebuilt-workflows';
import { startStripeEventActor } from './stripe-event-actor';

export interface WorkerParts {
  connection: NativeConnection;
  config: Readonly<Config>;
  deps: ActivityDeps;
  /** a prebuilt bundle (`npm run build`'s, or the one a test file builds); otherwise the worker bundles src/workflows */
  workflowBundle?: WorkerOptions['workflowBundle'];
  taskQueue?: string;
}

export function createWorker({ connection, config, deps, workflowBundle, taskQueue }: WorkerParts): Promise<Worker> {
  // Tracing is optional (OTEL_ENABLED); it fails the boot with the packages to add when they are missing.
  const otel = otelWorkerInterceptors(config.OTEL_ENABLED);
  return Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: taskQueue ?? config.TEMPORAL_TASK_QUEUE,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: require.resolve('./workflows') }),
    activities: createActivities(deps),
    interceptors: {
      // Innermost last: DomainErrors become typed ApplicationFailures before the others see them.
      activity: [activityObservability(deps.logger), ...(otel?.interceptors.activity ?? []), domainErrorInterceptor],
      ...(otel && !workflowBundle ? { workflowModules: otel.workflowModules } : {}),
    },
    // Graceful stop: let running activities finish before the process exits.
    shutdownGraceTime: '5 seconds',
    // Send each heartbeat at once rather than at 80% of the heartbeatTimeout, so a busy machine
    // cannot make a live activity look dead.
    maxHeartbeatThrottleInterval: HEARTBEAT_INTERVAL_MS,
    // A workflow task handed to a worker that has since died waits on that worker's sticky queue
    // this long before the server gives it to another (the default is 10 s).
    stickyQueueScheduleToStartTimeout: '2 seconds',
    // Workflow tasks run one at a time on the worker's workflow thread. A restarted worker has an
    // empty cache and replays each workflow's whole history, so with the SDK's 40 slots a burst of
    // replays queued behind each other for longer than the workflow task timeout: the server timed
    // them out, scheduled them again, and the replay work was thrown away. Fewer slots leave the
    // backlog on the server, where it costs nothing, and every task that starts finishes in time.
    maxConcurrentWorkflowTaskExecutions: config.WORKER_WORKFLOW_TASK_SLOTS,
    // The SDK's default grows with the heap limit (2,310 on this machine), so 1,000 parked purchases
    // all stayed in memory; a purchase in progress needs its cache entry for a second or two.
    maxCachedWorkflows: Math.max(config.WORKER_MAX_CACHED_WORKFLOWS, config.WORKER_WORKFLOW_TASK_SLOTS),
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
    treasuryThresholds: { warningBalanceCents: config.TREASURY_WARNING_BALANCE_CENTS, runwayWarningDays: config.RUNWAY_WARNING_DAYS },
    trialPolicy: { reminderDays: config.TRIAL_REMINDER_DAYS, endPolicy: config.TRIAL_END_POLICY },
    healthThresholds: healthThresholdsOf(config),
    creatorWebhookUrls: config.creatorWebhookUrls,
    creatorWebhookSecret: config.CREATOR_WEBHOOK_SECRET,
    creatorWebhookMaxAttempts: config.CREATOR_WEBHOOK_MAX_ATTEMPTS,
    riskLimits: {
      dailyVolumeCents: config.riskDailyVolumeLimitCents,
      buyerVelocity: { limit: config.RISK_BUYER_VELOCITY_LIMIT, windowMs: durationMs(config.RISK_BUYER_VELOCITY_WINDOW) },
    },
    now: () => new Date(),
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'worker' });
  // Before the first connection: SDK metrics on WORKER_METRICS_PORT, SDK and workflow logs into pino.
  const { metricsUrl } = installWorkerRuntime(config, logger);
  const deps = buildActivityDeps(config, logger);
  const [connection] = await Promise.all([connectTemporalWorker(config), ensureLedgerAccounts(deps.db)]);
  // Compiled (dist/worker.js): the bundle built with it; from source: bundled now.
  const worker = await createWorker({ connection, config, deps, workflowBundle: prebuiltWorkflowBundle(config.OTEL_ENABLED) });
  // Poll at once, so a restarted worker takes its backlog while the schedules are checked. Schedules
  // start workflows on this task queue, so they are ensured once the worker can serve them; if that
  // fails the worker stops and the boot fails as before.
  const running = worker.run();
  let client: Client | undefined;
  let stopActor = () => Promise.resolve();
  try {
    client = await connectTemporalClient(config);
    await ensureSchedules(client, config, logger);
    if (config.STRIPE_EVENTS_ACTED_ON_BY === 'worker') stopActor = startStripeEventActor(config, logger, client);
  } catch (err) {
    worker.shutdown();
    await running.catch(() => undefined);
    await client?.connection.close();
    throw err;
  }
  logger.info(
    { taskQueue: config.TEMPORAL_TASK_QUEUE, namespace: config.TEMPORAL_NAMESPACE, rails: Object.keys(deps.rails), metricsUrl },
    'worker started',
  );
  await running;
  await stopActor();
  await client.connection.close();
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
