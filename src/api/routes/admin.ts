import { Router, type Request } from 'express';
import type { Db } from '../../db/client';
import { recordTreasuryFunding } from '../../db/ledger';
import { createProduct, listProducts } from '../../db/purchases';
import { isValidWalletForRail } from '../../chains/wallets';
import { MAX_SOLANA_PAYOUTS } from '../../chains/solana/rail';
import { audited } from '../../services/audit';
import type { WorkflowOps } from '../../services/workflow-ops';
import { DomainError, ErrorType } from '../../shared/errors';
import { assertValidShares } from '../../shared/money';
import type { Rail } from '../../shared/status';
import { actorOf } from '../auth';
import { HttpError } from '../errors';
import { actionBody, createProductBody, purchaseIdParam, replenishedBody } from '../validators';

export interface AdminDeps {
  db: Db;
  ops: WorkflowOps;
  /** rails this deployment can settle on; a product on any other rail is refused */
  rails: readonly Rail[];
}

/** The most payouts one Solana settlement transaction carries (measured: src/chains/solana/rail.ts). */
const MAX_PAYOUTS: Partial<Record<Rail, number>> = { solana: MAX_SOLANA_PAYOUTS, 'solana-anchor': 16 };

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
    if (!rails.includes(body.rail as Rail)) throw new DomainError(ErrorType.ValidationFailed, `rail ${body.rail} is not available on this deployment (available: ${rails.join(', ')})`);
    const maxPayouts = MAX_PAYOUTS[body.rail as Rail];
    if (maxPayouts !== undefined && body.collaborators.length > maxPayouts) {
      throw new DomainError(ErrorType.InvalidSplits, `the ${body.rail} rail settles at most ${maxPayouts} collaborators in one transaction`);
    }
    assertValidShares(body.collaborators);
    body.collaborators.forEach((c, i) => {
      if (!isValidWalletForRail(body.rail, c.wallet)) throw new DomainError(ErrorType.InvalidWallet, `collaborators[${i}].wallet is not a valid ${body.rail} address`);
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
  router.post('/purchases/:purchaseId/:action', async (req, res) => {
    const { purchaseId } = purchaseIdParam.parse(req.params);
    const { reason } = actionBody.parse(req.body ?? {});
    const opts = { actor: actor(req), reason };
    const action = req.params.action;
    const result =
      action === 'approve' ? await ops.approve(purchaseId, opts)
      : action === 'reject' ? await ops.reject(purchaseId, opts)
      : action === 'retry' ? await ops.retry(purchaseId, opts)
      : undefined;
    if (!result) throw new HttpError(404, ErrorType.NotFound, `unknown purchase action ${action}`);
    res.status(202).json({ purchaseId, ...result });
  });

  /** Stripe paid out and the USDC landed: book it, then wake every purchase waiting on the treasury. */
  router.post('/treasury/replenished', async (req, res) => {
    const body = replenishedBody.parse(req.body ?? {});
    const funding = await audited(db, { actor: actor(req), action: 'treasury.replenished', target: body.rail, reason: body.reference }, () =>
      recordTreasuryFunding(db, { rail: body.rail as Rail, amountMicro: BigInt(body.amountMicroUsdc), reference: body.reference, source: 'stripe_payout' }),
    );
    const woken = await ops.treasuryReplenished({ actor: actor(req), reason: body.reference });
    res.status(202).json({ recorded: funding.created, signalled: woken.signalled.length });
  });

  return router;
}
