import type Stripe from 'stripe';
import type { Db } from '../db/client';
import { findPaymentRefs, type PaymentRefs } from '../db/purchases';
import { idempotencyKey } from '../shared/ids';
import { DomainError, ErrorType } from '../shared/errors';
import { withHeartbeat } from './heartbeat';

export interface StripeActivityDeps {
  db: Db;
  stripe: Stripe;
}

export interface CapturedFee {
  grossCents: string;
  stripeFeeCents: string;
  paymentIntentId: string;
  chargeId: string;
}

export function createStripeActivities({ db, stripe }: StripeActivityDeps) {
  async function paymentRefs(purchaseId: string): Promise<PaymentRefs> {
    const purchase = await findPaymentRefs(db, purchaseId);
    if (!purchase) throw new DomainError(ErrorType.NotFound, `purchase ${purchaseId} not found`);
    return purchase;
  }

  /** The purchase's PaymentIntent: stored once the webhook named it, else read from its Checkout Session. */
  async function paymentIntentId(purchaseId: string, purchase: PaymentRefs): Promise<string> {
    if (purchase.paymentIntentId) return purchase.paymentIntentId;
    if (!purchase.checkoutSessionId) throw new DomainError(ErrorType.ValidationFailed, `purchase ${purchaseId} has no checkout session`);
    const session = await stripe.checkout.sessions.retrieve(purchase.checkoutSessionId);
    const pi = typeof session.payment_intent === 'string' ? session.payment_intent : session.payment_intent?.id;
    if (!pi) throw new DomainError(ErrorType.FeeNotYetAvailable, `checkout session ${session.id} has no payment intent yet`);
    return pi;
  }

  return {
    /**
     * Step 2 of a purchase: gross from the PaymentIntent, fee from the charge's balance transaction
     * (`stripe_fee` entries). Never estimated: while the balance transaction is null this throws a
     * retryable FeeNotYetAvailable and the workflow's bounded retry schedule takes over.
     */
    async captureStripeFee(purchaseId: string): Promise<CapturedFee> {
      return withHeartbeat(async () => {
        const purchase = await paymentRefs(purchaseId);
        const pi = await stripe.paymentIntents.retrieve(await paymentIntentId(purchaseId, purchase), {
          expand: ['latest_charge.balance_transaction'],
        });
        if (pi.status === 'canceled') throw new DomainError(ErrorType.PaymentNotSucceeded, `payment intent ${pi.id} was canceled`);
        if (pi.status !== 'succeeded') throw new DomainError(ErrorType.FeeNotYetAvailable, `payment intent ${pi.id} is ${pi.status}`);
        const charge = pi.latest_charge;
        if (!charge || typeof charge === 'string')
          throw new DomainError(ErrorType.FeeNotYetAvailable, `payment intent ${pi.id} has no charge yet`);
        const bt = charge.balance_transaction;
        if (!bt || typeof bt === 'string')
          throw new DomainError(ErrorType.FeeNotYetAvailable, `charge ${charge.id} has no balance transaction yet`);
        const gross = BigInt(pi.amount_received);
        if (purchase.grossCents !== null && gross !== purchase.grossCents) {
          throw new DomainError(
            ErrorType.ValidationFailed,
            `payment ${pi.id} received ${gross}¢ but the purchase price is ${purchase.grossCents}¢`,
          );
        }
        const fee = bt.fee_details.filter((d) => d.type === 'stripe_fee').reduce((sum, d) => sum + BigInt(d.amount), 0n);
        return { grossCents: gross.toString(), stripeFeeCents: fee.toString(), paymentIntentId: pi.id, chargeId: charge.id };
      });
    },

    /** Compensation, only when policy says so. The idempotency key makes a retried refund a no-op at Stripe. */
    async refundPayment(purchaseId: string): Promise<{ refundId: string }> {
      return withHeartbeat(async () => {
        const pi = await paymentIntentId(purchaseId, await paymentRefs(purchaseId));
        const refund = await stripe.refunds.create(
          { payment_intent: pi, reason: 'requested_by_customer', metadata: { purchase_id: purchaseId } },
          { idempotencyKey: idempotencyKey(purchaseId, 'refund') },
        );
        return { refundId: refund.id };
      });
    },
  };
}
