/** The public earnings routes: a creator's own earnings, behind the wallet's signed ownership proof. */
import { Router, type RequestHandler } from 'express';
import type { Db } from '../../db/client';
import { requireWalletProof } from '../wallet-proof';
import { creatorWalletParam, earningsHandlers } from './earnings';

/** Mounted under /api: the wallet's own earnings, behind its signed ownership proof. */
export function creatorEarningsRouter({
  db,
  proofMaxAgeMs,
  now = () => new Date(),
}: {
  db: Db;
  proofMaxAgeMs: number;
  now?: () => Date;
}): Router {
  const router = Router();
  const h = earningsHandlers(db, now);
  // The wallet's shape is checked before the proof, so a malformed one is a 400, not a 401.
  const wallet: RequestHandler = (req, _res, next) => {
    creatorWalletParam.parse(req.params);
    next();
  };
  const proof = requireWalletProof({ maxAgeMs: proofMaxAgeMs, now });
  router.get('/creators/:wallet/earnings', wallet, proof, h.json);
  router.get('/creators/:wallet/earnings.csv', wallet, proof, h.csv);
  return router;
}
