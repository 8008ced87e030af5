/** API entry point: builds real dependencies and listens. */
import type { Server } from 'node:http';
import { createApp, type ApiDeps } from './api/app';
import { createMetrics } from './api/metrics';
import { loadConfig, type Config } from './config';
import { createLogger } from './logger';
import { connectTemporalClient, createDb, createRails, createStripe } from './runtime';
import { createPurchaseWorkflows } from './services/purchase-workflows';
import { createStripeEventHandler } from './services/stripe-events';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';

export function buildApiDeps(config: Readonly<Config>, logger: Logger, temporal: Client): ApiDeps {
  const db = createDb(config.databaseUrl);
  const stripe = createStripe(config);
  const workflows = createPurchaseWorkflows(temporal, config);
  const rails = createRails(config, logger);
  const metrics = createMetrics();
  return {
    config,
    db,
    stripe,
    workflows,
    events: createStripeEventHandler({ db, workflows, logger }),
    metrics,
    logger,
    readiness: {
      database: () => db.$queryRaw`SELECT 1`,
      temporal: () => temporal.workflowService.getSystemInfo({}),
      ...Object.fromEntries(Object.entries(rails).map(([rail, r]) => [`chain:${rail}`, () => r.ping()])),
    },
    collectMetrics: async () => {
      const counts = await db.purchase.groupBy({ by: ['status'], _count: { _all: true } });
      metrics.purchases.reset();
      for (const c of counts) metrics.purchases.set({ status: c.status }, c._count._all);
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'api' });
  const temporal = await connectTemporalClient(config);
  const deps = buildApiDeps(config, logger, temporal);
  const app = createApp(deps);
  const server: Server = app.listen(config.PORT, config.HOST, () => logger.info({ url: `http://${config.HOST}:${config.PORT}` }, 'api listening'));
  const stop = () => {
    logger.info('api stopping');
    server.close(() => {
      void Promise.all([deps.db.$disconnect(), temporal.connection.close()]).finally(() => process.exit(0));
    });
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`api failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
