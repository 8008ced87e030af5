import { Router } from 'express';
import type { Db } from '../../db/client';
import { purchaseView } from '../../db/purchases';
import { createCheckoutSession, type CheckoutDeps } from '../../services/checkout';
import { ErrorType } from '../../shared/errors';
import { HttpError } from '../errors';
import { checkoutBody, purchaseIdParam } from '../validators';

export function publicRouter(deps: CheckoutDeps & { db: Db }): Router {
  const router = Router();

  router.post('/checkout/sessions', async (req, res) => {
    const body = checkoutBody.parse(req.body);
    res.status(201).json(await createCheckoutSession(deps, body));
  });

  /** The polling frontend's read model: PostgreSQL only, with an ETag so unchanged polls are 304s. */
  router.get('/purchases/:purchaseId', async (req, res) => {
    const { purchaseId } = purchaseIdParam.parse(req.params);
    const view = await purchaseView(deps.db, purchaseId);
    if (!view) throw new HttpError(404, ErrorType.NotFound, `purchase ${purchaseId} not found`);
    const etag = `W/"${purchaseId}-${view.version}"`;
    res.set('ETag', etag).set('Cache-Control', 'no-cache');
    if (req.get('if-none-match') === etag) {
      res.status(304).end();
      return;
    }
    res.json(view.body);
  });

  return router;
}
