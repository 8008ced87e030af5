/** createApp(deps) → an Express app with no listen(): routes, validation, one error handler. */
import express from 'express';
import type { Logger } from 'pino';
import type Stripe from 'stripe';
import type { Config } from '../config';
import type { Db } from '../db/client';
import type { PurchaseWorkflows } from '../services/purchase-workflows';
import type { WorkflowOps } from '../services/workflow-ops';
import type { createStripeEventHandler } from '../services/stripe-events';
import { ErrorType } from '../shared/errors';
import type { Rail } from '../shared/status';
import { adminAuthFailureLimit, adminSecurityHeaders, checkoutRateLimit } from './abuse-limits';
import { adminAuth } from './auth';
import { errorHandler, HttpError } from './errors';
import type { Metrics } from './metrics';
import { methodNotAllowed } from './method-not-allowed';
import { allowedMethodsByPath } from './openapi';
import { adminRouter } from './routes/admin';
import { healthRouter, type HealthDeps } from './routes/health';
import { publicRouter } from './routes/public';
import { ADMIN_PAGE_STYLE } from './routes/dashboard';
import { requestId } from './request-id';
import { webhookRouter } from './routes/webhooks';

export interface ApiDeps {
  config: Readonly<Config>;
  db: Db;
  stripe: Stripe;
  workflows: PurchaseWorkflows;
  /** audited operator actions on runs (shared with the ops CLI) */
  ops: WorkflowOps;
  /** rails this deployment can settle on */
  rails: readonly Rail[];
  events: ReturnType<typeof createStripeEventHandler>;
  metrics: Metrics;
  logger: Logger;
  readiness: HealthDeps['checks'];
  collectMetrics?: HealthDeps['collect'];
  /** extra admin routers (treasury, workflows, audit) mounted under /admin */
  adminExtensions?: express.Router[];
  /** routers under /admin served without the token (the /admin page shell, which holds no data) */
  adminPages?: express.Router[];
  publicExtensions?: express.Router[];
}

export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(methodNotAllowed(allowedMethodsByPath()));
  app.use(requestId());

  // The webhook needs the raw body, so it is mounted before the JSON parser.
  app.use('/webhooks', webhookRouter({
    stripe: deps.stripe,
    webhookSecret: deps.config.STRIPE_WEBHOOK_SECRET,
    toleranceSeconds: deps.config.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
    bodyLimit: deps.config.WEBHOOK_BODY_LIMIT,
    events: deps.events,
    metrics: deps.metrics,
  }));
  app.use(express.json({ limit: '100kb' }));
  app.use(healthRouter({ checks: deps.readiness, metrics: deps.metrics, collect: deps.collectMetrics }));
  // Before the router: a blocked request creates no Stripe session and no row.
  app.post('/api/checkout/sessions', checkoutRateLimit(deps.config));
  app.use('/api', publicRouter({ db: deps.db, stripe: deps.stripe, config: deps.config }), ...(deps.publicExtensions ?? []));
  app.use('/admin', adminSecurityHeaders(ADMIN_PAGE_STYLE));
  if (deps.adminPages?.length) app.use('/admin', ...deps.adminPages);
  app.use('/admin', adminAuthFailureLimit(deps.config), adminAuth({ admin: deps.config.ADMIN_TOKEN, readonly: deps.config.ADMIN_READONLY_TOKEN }), adminRouter({ db: deps.db, ops: deps.ops, rails: deps.rails }), ...(deps.adminExtensions ?? []));
  app.use((req, _res, next) => next(new HttpError(404, ErrorType.NotFound, `no route for ${req.method} ${req.path}`)));
  app.use(errorHandler(deps.logger));
  return app;
}
