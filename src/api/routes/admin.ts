import { Router, type Request } from 'express';
import type { Db } from '../../db/client';
import { recordTreasuryFunding } from '../../db/ledger';
import { createProduct, listProducts } from '../../db/purchases';
import { isValidWalletForRail } from '../../chains/wallets';
import { MAX_SOLANA_PAYOUTS } from '../../chains/solana/rail';
import { audited } from '../../services/audit';
import type { PurchaseWorkflows } from '../../services/purchase-workflows';
import { DomainError, ErrorType } from '../../shared/errors';
import { assertValidShares } from '../../shared/money';
import { PurchaseStatus, type Rail } from '../../shared/status';
import { actorOf } from '../auth';
import { HttpError } from '../errors';
import { actionBody, createProductBody, purchaseIdParam, replenishedBody } from '../validators';

export interface AdminDeps {
  db: Db;
  workflows: PurchaseWorkflows;
  /** rails this deployment can settle on; a product on any other rail is refused */
  rails: readonly Rail[];
}

/** The most payouts one Solana settlement transaction carries (measured: src/chains/solana/rail.ts). */
const MAX_PAYOUTS: Partial<Record<Rail, number>> = { solana: MAX_SOLANA_PAYOUTS, 'solana-anchor': 16 };

const TERMINAL: readonly string[] = [PurchaseStatus.Settled, PurchaseStatus.Failed, PurchaseStatus.Refunded, PurchaseStatus.Disputed];

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

export function adminRouter({ db, workflows, rails }: AdminDeps): Router {
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

  async function purchaseInState(purchaseId: string, allowed: (status: string) => boolean, action: string) {
    const p = await db.purchase.findUnique({ where: { id: purchaseId }, select: { status: true } });
    if (!p) throw new HttpError(404, ErrorType.NotFound, `purchase ${purchaseId} not found`);
    if (!allowed(p.status)) throw new HttpError(409, ErrorType.Conflict, `cannot ${action} a purchase that is ${p.status}`);
  }

  router.post('/purchases/:purchaseId/:action', async (req, res) => {
    const { purchaseId } = purchaseIdParam.parse(req.params);
    const action = req.params.action;
    const { reason } = actionBody.parse(req.body ?? {});
    const who = actor(req);
    switch (action) {
      case 'approve':
      case 'reject':
        await purchaseInState(purchaseId, (s) => s === PurchaseStatus.AwaitingApproval, action);
        await audited(db, { actor: who, action: `purchase.${action}`, target: purchaseId, reason }, () =>
          action === 'approve' ? workflows.approve(purchaseId, { actor: who, reason }) : workflows.reject(purchaseId, { actor: who, reason }),
        );
        break;
      case 'retry':
        await purchaseInState(purchaseId, (s) => !TERMINAL.includes(s) && s !== PurchaseStatus.PendingPayment, action);
        await audited(db, { actor: who, action: 'purchase.retry', target: purchaseId, reason }, () => workflows.retryNow(purchaseId));
        break;
      default:
        throw new HttpError(404, ErrorType.NotFound, `unknown purchase action ${action}`);
    }
    res.status(202).json({ purchaseId, action, accepted: true });
  });

  /** Stripe paid out and the USDC landed: book it, then wake every purchase waiting on the treasury. */
  router.post('/treasury/replenished', async (req, res) => {
    const body = replenishedBody.parse(req.body ?? {});
    const result = await audited(db, { actor: actor(req), action: 'treasury.replenished', target: body.rail, reason: body.reference }, async () => {
      const funding = await recordTreasuryFunding(db, { rail: body.rail as Rail, amountMicro: BigInt(body.amountMicroUsdc), reference: body.reference, source: 'stripe_payout' });
      const waiting = await db.purchase.findMany({ where: { status: PurchaseStatus.AwaitingTreasury }, select: { id: true } });
      await Promise.all(waiting.map((p) => workflows.treasuryReplenished(p.id)));
      return { recorded: funding.created, signalled: waiting.length };
    });
    res.status(202).json(result);
  });

  return router;
}
