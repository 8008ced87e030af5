import express, { Router } from 'express';
import type Stripe from 'stripe';
import type { StripeEventHandler } from '../../services/stripe-events';
import { ErrorType } from '../../shared/errors';
import { HttpError } from '../errors';
import type { Metrics } from '../metrics';

export interface WebhookDeps {
  stripe: Stripe;
  webhookSecret: string;
  toleranceSeconds: number;
  bodyLimit: string;
  events: StripeEventHandler;
  metrics: Metrics;
}

/**
 * Thin by design: verify the signature on the raw body, store the event once, answer 2xx. The run is
 * started or signalled from the stored event right after, by the worker or this process
 * (STRIPE_EVENTS_ACTED_ON_BY; src/services/stripe-events.ts), so the acknowledgement waits for one
 * PostgreSQL statement and never for Temporal.
 */
export function webhookRouter(deps: WebhookDeps): Router {
  const router = Router();
  router.post('/stripe', express.raw({ type: () => true, limit: deps.bodyLimit }), async (req, res) => {
    const signature = req.get('stripe-signature');
    if (!signature || !Buffer.isBuffer(req.body)) {
      deps.metrics.webhooks.inc({ type: 'unknown', result: 'rejected' });
      throw new HttpError(400, ErrorType.InvalidSignature, 'missing Stripe-Signature header or body');
    }
    let event: Stripe.Event;
    try {
      event = deps.stripe.webhooks.constructEvent(req.body, signature, deps.webhookSecret, deps.toleranceSeconds);
    } catch (err) {
      deps.metrics.webhooks.inc({ type: 'unknown', result: 'rejected' });
      const message =
        err instanceof Error && /timestamp/i.test(err.message)
          ? 'signature timestamp outside the tolerance'
          : 'signature verification failed';
      throw new HttpError(400, ErrorType.InvalidSignature, message);
    }
    const outcome = await deps.events.receive(event, req.body.toString('utf8'));
    // Acted on here, the outcome of acting is counted then; acted on elsewhere, counted as queued.
    if (outcome === 'duplicate' || !deps.events.actOnReceipt) deps.metrics.webhooks.inc({ type: event.type, result: outcome });
    res.status(200).json({ received: true, outcome });
  });
  return router;
}
