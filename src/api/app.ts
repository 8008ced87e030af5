/** createApp(deps) → an Express app with no listen(): routes, validation, one error handler. */
import type { Client } from '@temporalio/client';
import express from 'express';
import type { Logger } from 'pino';
import type Stripe from 'stripe';
import type { Config } from '../config';
import type { Db } from '../db/client';
import type { ChangeFeed } from '../db/change-feed';
import type { PurchaseViewCache } from '../services/purchase-view-cache';
import type { PurchaseWorkflows } from '../services/purchase-workflows';
import type { WorkflowOps } from '../services/workflow-ops';
import type { StripeEventHandler } from '../services/stripe-events';
import type { TreasuryOverviewDeps } from '../services/treasury';
import { durationMs } from '../shared/duration';
import { ErrorType } from '../shared/errors';
import type { Rail } from '../shared/status';
import { adminAuthFailureLimit, adminSecurityHeaders, checkoutRateLimit } from './abuse-limits';
import { adminAuth } from './auth';
import { errorHandler, HttpError } from './errors';
import type { Metrics } from './metrics';
import { methodNotAllowed } from './method-not-allowed';
import { allowedMethodsByPath } from './openapi';
import { requestId } from './request-id';
import { adminRouter } from './routes/admin';
import { auditRouter } from './routes/audit';
import { ADMIN_PAGE_STYLE, adminPageRouter, dashboardRouter } from './routes/dashboard';
import { creatorEarningsRouter } from './routes/creator-earnings';
import { adminEarningsRouter } from './routes/earnings';
import { healthRouter, type HealthDeps } from './routes/health';
import { publicRouter } from './routes/public';
import { subscriptionsRouter } from './routes/subscriptions';
import { treasuryRouter } from './routes/treasury';
import { webhookRouter } from './routes/webhooks';
import { workflowsRouter } from './routes/workflows';

export interface ApiDeps {
  config: Readonly<Config>;
  db: Db;
  stripe: Stripe;
  /** schedules and the treasury view read Temporal directly */
  temporal: Client;
  workflows: PurchaseWorkflows;
  /** audited operator actions on runs (shared with the ops CLI) */
  ops: WorkflowOps;
  /** rails this deployment can settle on */
  rails: readonly Rail[];
  /** PostgreSQL's change notifications (closed by the entry point) */
  changeFeed: ChangeFeed;
  /** the status read model, cached until PostgreSQL announces a change */
  purchaseViews: PurchaseViewCache;
  /** the webhook's event store and outbox (its poller is started by the entry point) */
  events: StripeEventHandler;
  metrics: Metrics;
  logger: Logger;
  readiness: HealthDeps['checks'];
  collectMetrics?: HealthDeps['collect'];
  /** treasury health thresholds for the treasury view and the admin page */
  treasuryThresholds: TreasuryOverviewDeps['thresholds'];
}

export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(methodNotAllowed(allowedMethodsByPath()));
  app.use(requestId());

  // The webhook needs the raw body, so it is mounted before the JSON parser.
  app.use(
    '/webhooks',
    webhookRouter({
      stripe: deps.stripe,
      webhookSecret: deps.config.STRIPE_WEBHOOK_SECRET,
      toleranceSeconds: deps.config.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
      bodyLimit: deps.config.WEBHOOK_BODY_LIMIT,
      events: deps.events,
      metrics: deps.metrics,
    }),
  );
  app.use(express.json({ limit: '100kb' }));
  app.use(healthRouter({ checks: deps.readiness, metrics: deps.metrics, collect: deps.collectMetrics }));
  // Before the router: a blocked request creates no Stripe session and no row.
  app.post('/api/checkout/sessions', checkoutRateLimit(deps.config));
  app.use(
    '/api',
    publicRouter({ db: deps.db, stripe: deps.stripe, config: deps.config, purchaseViews: deps.purchaseViews }),
    subscriptionsRouter({ db: deps.db, stripe: deps.stripe, logger: deps.logger, config: deps.config }),
    creatorEarningsRouter({ db: deps.db, proofMaxAgeMs: durationMs(deps.config.WALLET_PROOF_MAX_AGE) }),
  );
  app.use('/admin', adminSecurityHeaders(ADMIN_PAGE_STYLE));
  // The /admin page shell holds no data, so it is served without the token; everything after needs it.
  app.use('/admin', adminPageRouter({ config: deps.config }));
  app.use(
    '/admin',
    adminAuthFailureLimit(deps.config),
    adminAuth({ admin: deps.config.ADMIN_TOKEN, readonly: deps.config.ADMIN_READONLY_TOKEN }),
    adminRouter({ db: deps.db, ops: deps.ops, rails: deps.rails }),
    treasuryRouter({ db: deps.db, temporal: deps.temporal, thresholds: deps.treasuryThresholds }),
    workflowsRouter({ ops: deps.ops }),
    auditRouter({ db: deps.db }),
    dashboardRouter({ db: deps.db, ops: deps.ops, thresholds: deps.treasuryThresholds }),
    adminEarningsRouter({ db: deps.db }),
  );
  app.use((req, _res, next) => next(new HttpError(404, ErrorType.NotFound, `no route for ${req.method} ${req.path}`)));
  app.use(errorHandler(deps.logger));
  return app;
}
