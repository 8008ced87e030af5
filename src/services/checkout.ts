import type Stripe from 'stripe';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { newId } from '../db/ids';
import { createPendingPurchase, findProduct } from '../db/purchases';
import { isValidWalletForRail } from '../chains/wallets';
import { DomainError, ErrorType } from '../shared/errors';
import { idempotencyKey } from '../shared/ids';
import { toStripeAmount } from '../shared/money';
import type { Rail } from '../shared/status';

export interface CheckoutDeps {
  db: Db;
  stripe: Stripe;
  config: Pick<Config, 'publicBaseUrl'>;
}

/** POST /api/checkout/sessions: a Stripe Checkout Session and a pending Purchase row. */
export async function createCheckoutSession(deps: CheckoutDeps, input: { productId: string; buyerWallet: string }) {
  const product = await findProduct(deps.db, input.productId);
  if (!product) throw new DomainError(ErrorType.NotFound, `product ${input.productId} not found`);
  const rail = product.rail as Rail;
  if (!isValidWalletForRail(rail, input.buyerWallet)) {
    throw new DomainError(ErrorType.InvalidWallet, `buyerWallet is not a valid ${rail} address`);
  }
  const purchaseId = newId('pur');
  const metadata = { purchase_id: purchaseId, product_id: product.id };
  const session = await deps.stripe.checkout.sessions.create(
    {
      mode: 'payment',
      client_reference_id: purchaseId,
      line_items: [
        {
          quantity: 1,
          price_data: {
            currency: product.currency,
            unit_amount: toStripeAmount(product.priceCents),
            product_data: { name: product.title },
          },
        },
      ],
      metadata,
      payment_intent_data: { metadata },
      success_url: `${deps.config.publicBaseUrl}/purchases/${purchaseId}?checkout=success`,
      cancel_url: `${deps.config.publicBaseUrl}/purchases/${purchaseId}?checkout=cancelled`,
    },
    { idempotencyKey: idempotencyKey(purchaseId, 'checkout') },
  );
  await createPendingPurchase(deps.db, {
    id: purchaseId,
    productId: product.id,
    buyerWallet: input.buyerWallet,
    rail,
    grossCents: product.priceCents,
    checkoutSessionId: session.id,
  });
  return { purchaseId, checkoutSessionId: session.id, checkoutUrl: session.url ?? '' };
}
