import { Router, type Request } from 'express';
import type { Db } from '../../db/client';
import { recordTreasuryFunding } from '../../db/ledger';
import { createProduct, listProducts } from '../../db/purchases';
import { isValidWalletForRail } from '../../chains/wallets';
import { audited } from '../../services/audit';
import type { WorkflowOps } from '../../services/workflow-ops';
import { DomainError, ErrorType } from '../../shared/errors';
import { assertValidShares } from '../../shared/money';
import type { Rail } from '../../shared/status';
import { actorOf } from '../auth';
import { actionBody, createProductBody, pauseBody, purchaseIdParam, replenishedBody } from '../validators';

export interface AdminDeps {
  db: Db;
  ops: WorkflowOps;
  /** rails this deployment can settle on; a product on any other rail is refused */
  rails: readonly Rail[];
}

const productJson = (p: Awaited<ReturnType<typeof createProduct>>) => ({
  id: p.id,
  title: p.title,
  priceCents: p.priceCents.toString(),
  currency: p.currency,
  rail: p.rail,
  nftSymbol: p.nftSymbol,
  nftUri: p.nftUri,
  collaborators: p.collaborators.map((c) => ({ wallet: c.wallet, role: c.role, shareBps: c.shareBps })),
  createdAt: p.createdAt.toISOString(),
});

export function adminRouter({ db, ops, rails }: AdminDeps): Router {
  const router = Router();
  const actor = (req: Request) => actorOf(req.adminRole);

  router.post('/products', async (req, res) => {
    const body = createProductBody.parse(req.body);
    if (!rails.includes(body.rail as Rail))
      throw new DomainError(
        ErrorType.ValidationFailed,
        `rail ${body.rail} is not available on this deployment (available: ${rails.join(', ')})`,
      );
    assertValidShares(body.collaborators);
    body.collaborators.forEach((c, i) => {
      if (!isValidWalletForRail(body.rail, c.wallet))
        throw new DomainError(ErrorType.InvalidWallet, `collaborators[${i}].wallet is not a valid ${body.rail} address`);
    });
    const product = await audited(db, { actor: actor(req), action: 'product.create', target: body.title }, () =>
      createProduct(db, { ...body, priceCents: BigInt(body.priceCents), rail: body.rail as Rail }),
    );
    res.status(201).json(productJson(product));
  });

  router.get('/products', async (_req, res) => {
    res.json({ products: (await listProducts(db)).map(productJson) });
  });

  /** Approve, reject and retry go through the same audited, idempotent service as the ops CLI. */
  for (const action of ['approve', 'reject', 'retry'] as const) {
    router.post(`/purchases/:purchaseId/${action}`, async (req, res) => {
      const { purchaseId } = purchaseIdParam.parse(req.params);
      const { reason } = actionBody.parse(req.body ?? {});
      res.status(202).json({ purchaseId, ...(await ops[action](purchaseId, { actor: actor(req), reason })) });
    });
  }

  /** Stripe paid out and the USDC landed: book it, then wake every purchase waiting on the treasury. */
  router.post('/treasury/replenished', async (req, res) => {
    const body = replenishedBody.parse(req.body ?? {});
    const funding = await audited(
      db,
      { actor: actor(req), action: 'treasury.replenished', target: body.rail, reason: body.reference },
      () =>
        recordTreasuryFunding(db, {
          rail: body.rail as Rail,
          amountMicro: BigInt(body.amountMicroUsdc),
          reference: body.reference,
          source: 'stripe_payout',
        }),
    );
    const woken = await ops.treasuryReplenished({ actor: actor(req), reason: body.reference });
    res.status(202).json({ recorded: funding.created, signalled: woken.signalled.length });
  });

  /** The emergency pause: runs wait before the on-chain pivot until resume (same service as `npm run ops -- pause`). */
  router.get('/settlement', async (_req, res) => {
    res.json(await ops.settlementState());
  });
  router.post('/settlement/pause', async (req, res) => {
    const { reason } = pauseBody.parse(req.body ?? {});
    res.json(await ops.pauseSettlement({ actor: actor(req), reason }));
  });
  router.post('/settlement/resume', async (req, res) => {
    const { reason } = actionBody.parse(req.body ?? {});
    res.json(await ops.resumeSettlement({ actor: actor(req), reason }));
  });

  return router;
}
