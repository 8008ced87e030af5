import { Router } from 'express';
import type { Db } from '../../db/client';
import { purchaseVersion } from '../../db/purchases';
import { createCheckoutSession, type CheckoutDeps } from '../../services/checkout';
import type { PurchaseViewCache } from '../../services/purchase-view-cache';
import { ErrorType } from '../../shared/errors';
import { HttpError } from '../errors';
import { checkoutBody, purchaseIdParam } from '../validators';

export function publicRouter(deps: CheckoutDeps & { db: Db; purchaseViews: PurchaseViewCache }): Router {
  const router = Router();

  router.post('/checkout/sessions', async (req, res) => {
    const body = checkoutBody.parse(req.body);
    res.status(201).json(await createCheckoutSession(deps, body));
  });

  /**
   * The polling frontend's read model: PostgreSQL's JSON, kept in memory until PostgreSQL announces
   * a change (src/services/purchase-view-cache.ts), with an ETag so unchanged polls are 304s.
   */
  router.get('/purchases/:purchaseId', async (req, res) => {
    const { purchaseId } = purchaseIdParam.parse(req.params);
    const etagOf = (version: number) => `W/"${purchaseId}-${version}"`;
    res.set('Cache-Control', 'no-cache');
    const ifNoneMatch = req.get('if-none-match');
    // Without the cache, most polls are unchanged: answer them from the version column alone.
    if (ifNoneMatch && !deps.purchaseViews.serving) {
      const version = await purchaseVersion(deps.db, purchaseId);
      if (version !== undefined && ifNoneMatch === etagOf(version)) {
        res.set('ETag', ifNoneMatch).status(304).end();
        return;
      }
    }
    const view = await deps.purchaseViews.get(purchaseId);
    if (!view) throw new HttpError(404, ErrorType.NotFound, `purchase ${purchaseId} not found`);
    const etag = etagOf(view.version);
    if (ifNoneMatch === etag) {
      res.set('ETag', etag).status(304).end();
      return;
    }
    // The JSON text as PostgreSQL built it: nothing parsed or serialized here.
    res.set('ETag', etag).type('json').send(view.json);
  });

  return router;
}
