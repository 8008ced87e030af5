/**
 * Stripe webhook events: store each one once under its event id, then start or signal the purchase
 * run. Nothing slow happens here: no Stripe or chain calls, only PostgreSQL and Temporal.
 */
import type Stripe from 'stripe';
import type { Logger } from 'pino';
import type { Db } from '../db/client';
import { attachPaymentIntent, findPurchaseId, findPurchaseIdByPaymentIntent } from '../db/purchases';
import { markWebhookEventProcessed, storeWebhookEvent, unmatchedChargeReversals, type ChargeReversalEventType } from '../db/webhook-events';
import type { PurchaseWorkflows } from './purchase-workflows';
import type { SubscriptionEventOutcome } from './subscriptions';

export type EventOutcome =
  | 'duplicate'
  | 'started'
  | 'already_completed'
  | 'signalled'
  | 'clawback'
  | 'awaiting_async_payment'
  | 'unknown_purchase'
  | 'ignored'
  | SubscriptionEventOutcome;

export interface StripeEventDeps {
  db: Db;
  workflows: PurchaseWorkflows;
  logger: Logger;
  /** Subscription events are handled by the subscription mirror when it is wired in. */
  onSubscriptionEvent?: (event: Stripe.Event) => Promise<SubscriptionEventOutcome>;
}

export function createStripeEventHandler({ db, workflows, logger, onSubscriptionEvent }: StripeEventDeps) {
  /** Our purchase id travels as metadata.purchase_id (and client_reference_id); else match the PaymentIntent. */
  async function purchaseIdFor(
    claimedId: string | null | undefined,
    paymentIntent: string | { id: string } | null | undefined,
  ): Promise<string | undefined> {
    if (claimedId) return findPurchaseId(db, claimedId);
    const pi = typeof paymentIntent === 'string' ? paymentIntent : paymentIntent?.id;
    if (!pi) return undefined;
    return findPurchaseIdByPaymentIntent(db, pi);
  }

  async function start(purchaseId: string | undefined, paymentIntentId?: string | null): Promise<EventOutcome> {
    if (!purchaseId) return 'unknown_purchase';
    if (paymentIntentId) await attachPaymentIntent(db, purchaseId, paymentIntentId);
    const outcome = (await workflows.start(purchaseId)) === 'running' ? 'started' : 'already_completed';
    if (paymentIntentId) await applyEarlyReversals(purchaseId, paymentIntentId);
    return outcome;
  }

  async function reverse(purchaseId: string, type: ChargeReversalEventType, eventId: string): Promise<EventOutcome> {
    const res = await workflows.abort(purchaseId, type === 'charge.refunded' ? 'refunded' : 'disputed', eventId);
    return res === 'clawback' ? 'clawback' : 'signalled';
  }

  /**
   * A refund or dispute that carries no purchase id and arrived before the payment event tied its
   * PaymentIntent to a purchase was stored as unknown_purchase. Once the PaymentIntent is attached,
   * act on it. Both sides write, then read (this after attaching; the reversal after storing its
   * outcome), so one of them always sees the other; acting twice is harmless, each action is
   * idempotent per event.
   */
  async function applyEarlyReversals(purchaseId: string, paymentIntentId: string): Promise<void> {
    for (const early of await unmatchedChargeReversals(db, paymentIntentId)) {
      const outcome = await reverse(purchaseId, early.type, early.id);
      await markWebhookEventProcessed(db, early.id, outcome, new Date());
      logger.info(
        { eventId: early.id, eventType: early.type, purchaseId, outcome },
        'stripe event that arrived before its payment acted on',
      );
    }
  }

  async function dispatch(event: Stripe.Event): Promise<EventOutcome> {
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded': {
        const session = event.data.object;
        if (session.payment_status === 'unpaid') return 'awaiting_async_payment';
        const id = await purchaseIdFor(session.metadata?.purchase_id ?? session.client_reference_id, session.payment_intent);
        return start(id, typeof session.payment_intent === 'string' ? session.payment_intent : session.payment_intent?.id);
      }
      case 'payment_intent.succeeded': {
        const pi = event.data.object;
        return start(await purchaseIdFor(pi.metadata.purchase_id, pi.id), pi.id);
      }
      case 'checkout.session.async_payment_failed': {
        const session = event.data.object;
        const id = await purchaseIdFor(session.metadata?.purchase_id ?? session.client_reference_id, session.payment_intent);
        if (!id) return 'unknown_purchase';
        return (await workflows.abort(id, 'payment_failed', event.id)) === 'signalled' ? 'signalled' : 'ignored';
      }
      case 'charge.refunded':
      case 'charge.dispute.created': {
        const obj = event.data.object;
        const id = await purchaseIdFor('metadata' in obj ? obj.metadata?.purchase_id : undefined, obj.payment_intent);
        if (id) return reverse(id, event.type, event.id);
        // Not matched yet: possibly delivered before the payment event (see applyEarlyReversals).
        const paymentIntentId = typeof obj.payment_intent === 'string' ? obj.payment_intent : obj.payment_intent?.id;
        if (!paymentIntentId) return 'unknown_purchase';
        await markWebhookEventProcessed(db, event.id, 'unknown_purchase', new Date());
        const late = await findPurchaseIdByPaymentIntent(db, paymentIntentId);
        return late ? reverse(late, event.type, event.id) : 'unknown_purchase';
      }
      default:
        if (event.type.startsWith('customer.subscription.') || event.type.startsWith('invoice.')) {
          return onSubscriptionEvent ? onSubscriptionEvent(event) : 'ignored';
        }
        return 'ignored';
    }
  }

  return {
    /**
     * Store, then act. A duplicate delivery of a processed event changes nothing; a duplicate of one
     * whose first delivery died before acting is acted on (every action is idempotent).
     */
    async handle(event: Stripe.Event): Promise<EventOutcome> {
      if ((await storeWebhookEvent(db, event)).processed) return 'duplicate';
      const outcome = await dispatch(event);
      await markWebhookEventProcessed(db, event.id, outcome, new Date());
      logger.info({ eventId: event.id, eventType: event.type, outcome }, 'stripe event');
      return outcome;
    },
  };
}
