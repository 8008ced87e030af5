/**
 * Subscriptions with trials: Checkout in subscription mode, the local mirror kept in sync
 * by webhooks (never regressed by out-of-order events), one trial per customer, and Stripe's
 * validity rule for the status endpoint.
 */
import type { Logger } from 'pino';
import type Stripe from 'stripe';
import type { Config } from '../config';
import type { Db } from '../db/client';
import {
  applySubscriptionSnapshot,
  claimTrialUsage,
  findTrialUsage,
  listCustomerSubscriptions,
  setMirrorStatus,
  subscriptionExists,
  type MirrorFields,
} from '../db/subscriptions';
import { subscriptionIsValid } from '../shared/subscription-rules';

export type SubscriptionEventOutcome =
  'subscription_applied' | 'subscription_unchanged' | 'subscription_stale' | 'subscription_unknown' | 'trial_refused' | 'ignored';

const at = (seconds: number | null | undefined): Date | null =>
  seconds === null || seconds === undefined ? null : new Date(seconds * 1000);
const idOf = (v: string | { id: string } | null | undefined): string | null =>
  v === null || v === undefined ? null : typeof v === 'string' ? v : v.id;

/** The fields the mirror keeps, from a Stripe subscription (period end lives on items since 2025-03). */
export function mirrorFields(sub: Stripe.Subscription): MirrorFields {
  const items = sub.items?.data ?? [];
  const periodEnds = items.map((i) => i.current_period_end).filter((n): n is number => typeof n === 'number');
  // Before 2025-03 the period end was on the subscription itself; older payloads still carry it there.
  const legacy = 'current_period_end' in sub && typeof sub.current_period_end === 'number' ? sub.current_period_end : undefined;
  return {
    customerId: idOf(sub.customer) ?? '',
    status: sub.status,
    priceId: items[0]?.price?.id ?? null,
    trialStart: at(sub.trial_start),
    trialEnd: at(sub.trial_end),
    currentPeriodEnd: periodEnds.length ? at(Math.min(...periodEnds)) : at(legacy),
    hasPaymentMethod: idOf(sub.default_payment_method) !== null || idOf(sub.default_source) !== null,
    cancelAtPeriodEnd: sub.cancel_at_period_end,
  };
}

export interface SubscriptionServiceDeps {
  db: Db;
  stripe: Stripe;
  logger: Logger;
  config: Pick<Config, 'publicBaseUrl' | 'SUBSCRIPTION_TRIAL_DAYS' | 'TRIAL_END_POLICY'>;
  now?: () => Date;
}

/**
 * One trial per customer: the first subscription seen with a trial claims TrialUsage. A second
 * trialing subscription for the same customer (two Checkouts opened in parallel) has its trial ended
 * at Stripe, idempotently.
 */
async function enforceOneTrial(
  deps: SubscriptionServiceDeps,
  sub: Stripe.Subscription,
  f: MirrorFields,
): Promise<'claimed' | 'refused' | 'none'> {
  if (!f.trialStart || !f.customerId) return 'none';
  const usage = await claimTrialUsage(deps.db, { customerId: f.customerId, subscriptionId: sub.id, startedAt: f.trialStart });
  if (!usage || usage.subscriptionId === sub.id) return 'claimed';
  if (sub.status !== 'trialing') return 'none';
  await deps.stripe.subscriptions.update(
    sub.id,
    { trial_end: 'now', proration_behavior: 'none' },
    { idempotencyKey: `subscription:${sub.id}:refuse-second-trial` },
  );
  deps.logger.warn(
    { subscriptionId: sub.id, customerId: f.customerId, firstTrial: usage.subscriptionId },
    'second trial refused: trial ended at Stripe',
  );
  return 'refused';
}

function invoiceSubscriptionId(invoice: Stripe.Invoice): string | null {
  const fromParent = invoice.parent?.subscription_details?.subscription;
  const old = 'subscription' in invoice ? invoice.subscription : undefined;
  const legacy =
    typeof old === 'string' ? old : typeof old === 'object' && old !== null && 'id' in old && typeof old.id === 'string' ? old.id : null;
  return idOf(fromParent ?? legacy ?? null);
}

/** The `onSubscriptionEvent` hook of createStripeEventHandler. */
export function createSubscriptionEventHandler(deps: SubscriptionServiceDeps) {
  return async function handleSubscriptionEvent(event: Stripe.Event): Promise<SubscriptionEventOutcome> {
    const observedAt = new Date(event.created * 1000);
    switch (event.type) {
      case 'customer.subscription.created':
      case 'customer.subscription.updated':
      case 'customer.subscription.deleted':
      case 'customer.subscription.trial_will_end': {
        const sub = event.data.object;
        const f = mirrorFields(sub);
        const applied = await applySubscriptionSnapshot(deps.db, sub.id, f, observedAt, {
          createOnly: event.type === 'customer.subscription.created',
        });
        const trial = await enforceOneTrial(deps, sub, f);
        if (trial === 'refused') return 'trial_refused';
        return applied === 'applied' ? 'subscription_applied' : applied === 'unchanged' ? 'subscription_unchanged' : 'subscription_stale';
      }
      case 'invoice.paid':
      case 'invoice.payment_failed': {
        const id = invoiceSubscriptionId(event.data.object);
        if (!id) return 'ignored';
        if (!(await subscriptionExists(deps.db, id))) return 'subscription_unknown';
        const changed =
          event.type === 'invoice.paid'
            ? await setMirrorStatus(deps.db, id, ['past_due', 'unpaid', 'incomplete'], 'active', observedAt)
            : await setMirrorStatus(deps.db, id, ['active', 'trialing'], 'past_due', observedAt);
        return changed ? 'subscription_applied' : 'subscription_unchanged';
      }
      default:
        return 'ignored';
    }
  };
}

/** POST /api/subscriptions/checkout: a trial only for a customer who never had one. */
export async function createSubscriptionCheckout(deps: SubscriptionServiceDeps, input: { customerId: string; priceId: string }) {
  const hadTrial = await findTrialUsage(deps.db, input.customerId);
  const trialDays = hadTrial ? 0 : deps.config.SUBSCRIPTION_TRIAL_DAYS;
  const metadata = { customer_id: input.customerId };
  const session = await deps.stripe.checkout.sessions.create({
    mode: 'subscription',
    customer: input.customerId,
    line_items: [{ price: input.priceId, quantity: 1 }],
    // Without a trial a payment method is required up front; with one, Checkout may skip it.
    payment_method_collection: trialDays > 0 ? 'if_required' : 'always',
    subscription_data: {
      metadata,
      ...(trialDays > 0
        ? {
            trial_period_days: trialDays,
            trial_settings: {
              end_behavior: { missing_payment_method: deps.config.TRIAL_END_POLICY === 'cancel' ? 'cancel' : 'create_invoice' },
            },
          }
        : {}),
    },
    metadata,
    success_url: `${deps.config.publicBaseUrl}/subscriptions?checkout=success`,
    cancel_url: `${deps.config.publicBaseUrl}/subscriptions?checkout=cancelled`,
  });
  return {
    checkoutSessionId: session.id,
    checkoutUrl: session.url ?? '',
    trialOffered: trialDays > 0,
    trialDays,
    ...(hadTrial ? { trialRefusedReason: 'customer already had a trial' } : {}),
  };
}

/** GET /api/subscriptions/:customerId/status, from the mirror. */
export async function subscriptionStatus(db: Db, customerId: string, now: Date) {
  const subs = await listCustomerSubscriptions(db, customerId);
  const views = subs.map((s) => ({
    subscriptionId: s.id,
    status: s.status,
    valid: subscriptionIsValid(s, now),
    trialEnd: s.trialEnd?.toISOString() ?? null,
    currentPeriodEnd: s.currentPeriodEnd?.toISOString() ?? null,
    cancelAtPeriodEnd: s.cancelAtPeriodEnd,
  }));
  const trial = await findTrialUsage(db, customerId);
  return { customerId, valid: views.some((v) => v.valid), trialUsed: trial !== null, subscriptions: views, asOf: now.toISOString() };
}
