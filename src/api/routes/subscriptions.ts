import { Router } from 'express';
import { z } from 'zod';
import { createSubscriptionCheckout, subscriptionStatus, type SubscriptionServiceDeps } from '../../services/subscriptions';

const customerId = z.string().regex(/^cus_[A-Za-z0-9]{1,64}$/, 'must be a Stripe customer id (cus_…)');
export const subscriptionCheckoutBody = z
  .object({
    customerId,
    priceId: z.string().regex(/^price_[A-Za-z0-9]{1,64}$/, 'must be a Stripe price id (price_…)'),
  })
  .strict();
export const customerIdParam = z.object({ customerId });

/** Public: /api/subscriptions/checkout and /api/subscriptions/:customerId/status. */
export function subscriptionsRouter(deps: SubscriptionServiceDeps): Router {
  const router = Router();
  const now = deps.now ?? (() => new Date());

  router.post('/subscriptions/checkout', async (req, res) => {
    const body = subscriptionCheckoutBody.parse(req.body);
    res.status(201).json(await createSubscriptionCheckout(deps, body));
  });

  router.get('/subscriptions/:customerId/status', async (req, res) => {
    const { customerId: id } = customerIdParam.parse(req.params);
    res.set('Cache-Control', 'no-store').json(await subscriptionStatus(deps.db, id, now()));
  });

  return router;
}
