/** API entry point: builds real dependencies and listens. */
import type { Server } from 'node:http';
import { createApp, type ApiDeps } from './api/app';
import { createHttpServer } from './api/http-server';
import { createMetrics } from './api/metrics';
import { createChangeFeed } from './db/change-feed';
import { pingDatabase } from './db/health';
import { purchaseView } from './db/purchases';
import { loadConfig, type Config } from './config';
import { createLogger } from './logger';
import { connectTemporalClient, createDb, createRails, createStripe } from './runtime';
import { createPurchaseViewCache } from './services/purchase-view-cache';
import { createPurchaseWorkflows } from './services/purchase-workflows';
import { createStripeEventHandler } from './services/stripe-events';
import { createSubscriptionEventHandler } from './services/subscriptions';
import { registerActivityMetrics } from './observability/activity-metrics';
import { healthThresholdsOf } from './activities/health';
import { createScrapeCollector } from './observability/metrics';
import { createWorkflowOps } from './services/workflow-ops';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { RAILS } from './shared/status';

export function buildApiDeps(config: Readonly<Config>, logger: Logger, temporal: Client): ApiDeps {
  const db = createDb(config.databaseUrl);
  const changeFeed = createChangeFeed(config.databaseUrl, { logger });
  const stripe = createStripe(config);
  const workflows = createPurchaseWorkflows(temporal, config);
  const rails = createRails(config, logger);
  const metrics = createMetrics();
  const onSubscriptionEvent = createSubscriptionEventHandler({ db, stripe, logger, config });
  const treasuryThresholds = { warningBalanceCents: config.TREASURY_WARNING_BALANCE_CENTS, runwayWarningDays: config.RUNWAY_WARNING_DAYS };
  const ops = createWorkflowOps({ client: temporal, db, config });
  registerActivityMetrics(metrics.registry);
  return {
    config,
    db,
    stripe,
    temporal,
    workflows,
    ops,
    changeFeed,
    purchaseViews: createPurchaseViewCache({
      load: (id) => purchaseView(db, id),
      feed: changeFeed,
      maxEntries: config.STATUS_CACHE_ENTRIES,
      onRead: (source) => metrics.statusReads.inc({ source }),
    }),
    rails: RAILS.filter((rail) => rails[rail] !== undefined),
    events: createStripeEventHandler({
      db,
      workflows,
      logger,
      onSubscriptionEvent,
      onOutcome: (type, result) => metrics.webhooks.inc({ type, result }),
      actOnReceipt: config.STRIPE_EVENTS_ACTED_ON_BY === 'api',
    }),
    metrics,
    logger,
    treasuryThresholds,
    readiness: {
      database: () => pingDatabase(db),
      temporal: () => temporal.workflowService.getSystemInfo({}),
      ...Object.fromEntries(Object.entries(rails).map(([rail, r]) => [`chain:${rail}`, () => r.ping()])),
    },
    // purchases by status, treasury balance/available/runway, settlement latency (src/observability/metrics.ts)
    collectMetrics: createScrapeCollector(db, metrics, treasuryThresholds, undefined, healthThresholdsOf(config)),
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'api' });
  const temporal = await connectTemporalClient(config);
  const deps = buildApiDeps(config, logger, temporal);
  const app = createApp(deps);
  // Acting here: also on stored events nobody acted on (a predecessor killed after acknowledging,
  // failed attempts). Otherwise the worker runs the outbox.
  const stopOutbox = deps.events.actOnReceipt ? deps.events.startOutbox() : () => Promise.resolve();
  const server: Server = createHttpServer(app).listen(config.PORT, config.HOST, () =>
    logger.info({ url: `http://${config.HOST}:${config.PORT}` }, 'api listening'),
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    logger.info('api stopping');
    server.close(() => {
      void stopOutbox()
        .then(() => Promise.all([deps.changeFeed.close(), deps.db.$disconnect(), temporal.connection.close()]))
        .finally(() => process.exit(0));
    });
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`api failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
