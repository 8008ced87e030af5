/**
 * Hand-built Stripe events and the signing of any event with the SDK's test-header helper, exactly as
 * Stripe signs a delivery. The dev Stripe (./dev-stripe) produces the real events of a payment, a
 * refund or a dispute; these builders remain for the deliveries a test crafts itself (a refund
 * notice that arrives before its payment, an event of an unhandled type), using the dev Stripe's ids.
 */
import { randomBytes } from 'node:crypto';
import type Stripe from 'stripe';
import { toStripeAmount } from '../src/shared/money';

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;

export interface PaymentRefs {
  purchaseId: string;
  checkoutSessionId: string;
  paymentIntentId: string;
  amountCents: bigint;
  /** the dev Stripe's charge; a fresh id when omitted */
  chargeId?: string;
}

export const newPaymentIntentId = (): string => id('pi');

function event(type: string, object: Record<string, unknown>, createdSec = Math.floor(Date.now() / 1000)): Stripe.Event {
  return {
    id: id('evt'),
    object: 'event',
    api_version: '2025-01-27.acacia',
    created: createdSec,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
  } as unknown as Stripe.Event;
}

export function checkoutSessionCompleted(p: PaymentRefs, paymentStatus: 'paid' | 'unpaid' = 'paid'): Stripe.Event {
  return event('checkout.session.completed', {
    id: p.checkoutSessionId,
    object: 'checkout.session',
    mode: 'payment',
    amount_total: toStripeAmount(p.amountCents),
    currency: 'usd',
    client_reference_id: p.purchaseId,
    metadata: { purchase_id: p.purchaseId },
    payment_intent: p.paymentIntentId,
    payment_status: paymentStatus,
    status: 'complete',
  });
}

export function paymentIntentSucceeded(p: PaymentRefs): Stripe.Event {
  return event('payment_intent.succeeded', {
    id: p.paymentIntentId,
    object: 'payment_intent',
    amount: toStripeAmount(p.amountCents),
    amount_received: toStripeAmount(p.amountCents),
    currency: 'usd',
    metadata: { purchase_id: p.purchaseId },
    status: 'succeeded',
  });
}

export function chargeRefunded(p: PaymentRefs): Stripe.Event {
  return event('charge.refunded', {
    id: p.chargeId ?? id('ch'),
    object: 'charge',
    amount: toStripeAmount(p.amountCents),
    amount_refunded: toStripeAmount(p.amountCents),
    metadata: { purchase_id: p.purchaseId },
    payment_intent: p.paymentIntentId,
    refunded: true,
  });
}

/** The body and Stripe-Signature header for one delivery of `event`. */
export function signedDelivery(
  stripe: Stripe,
  secret: string,
  evt: Stripe.Event,
  timestampSec?: number,
): { body: string; signature: string } {
  const body = JSON.stringify(evt);
  return { body, signature: stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: timestampSec }) };
}
