/**
 * The webhook outbox's actor: starts or signals purchase runs from the stored Stripe events, woken by
 * PostgreSQL's notification when an API stores one (src/services/stripe-events.ts). The worker runs it
 * (STRIPE_EVENTS_ACTED_ON_BY=worker, the default); as its own process (`node
 * dist/stripe-event-actor.js`, STRIPE_EVENTS_ACTED_ON_BY=separate) it scales apart from both.
 */
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { loadConfig, type Config } from './config';
import { createChangeFeed } from './db/change-feed';
import { createLogger } from './logger';
import { connectTemporalClient, createDb, createStripe } from './runtime';
import { createPurchaseWorkflows } from './services/purchase-workflows';
import { createStripeEventHandler } from './services/stripe-events';
import { createSubscriptionEventHandler } from './services/subscriptions';

/** Start acting on the outbox; returns the stop, which waits for the events being acted on. */
export function startStripeEventActor(config: Readonly<Config>, logger: Logger, temporal: Client): () => Promise<void> {
  // Its own small pool, so acting never waits behind the activities' queries in the worker.
  const db = createDb(config.databaseUrl, { poolSize: 4 });
  const changes = createChangeFeed(config.databaseUrl, { logger });
  const events = createStripeEventHandler({
    db,
    workflows: createPurchaseWorkflows(temporal, config),
    logger,
    onSubscriptionEvent: createSubscriptionEventHandler({ db, stripe: createStripe(config), logger, config }),
  });
  const stopOutbox = events.startOutbox(changes);
  return async () => {
    await stopOutbox();
    await changes.close();
    await db.$disconnect();
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'stripe-event-actor' });
  const temporal = await connectTemporalClient(config);
  const stop = startStripeEventActor(config, logger, temporal);
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE }, 'stripe event actor started');
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    void stop()
      .then(() => temporal.connection.close())
      .finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`stripe event actor failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
