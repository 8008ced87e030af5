/**
 * Subscriptions with trials (DESIGN §5): Checkout in subscription mode, the local mirror kept in sync
 * by webhooks (never regressed by out-of-order events), one trial per customer, and Stripe's
 * validity rule for the status endpoint.
 */
import type { Logger } from 'pino';
import type Stripe from 'stripe';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { Prisma } from '../db/client';
import { subscriptionIsValid } from '../shared/subscription-rules';

export type SubscriptionEventOutcome =
  | 'subscription_applied'
  | 'subscription_unchanged'
  | 'subscription_stale'
  | 'subscription_unknown'
  | 'trial_refused'
  | 'ignored';

export interface MirrorFields {
  customerId: string;
  status: string;
  priceId: string | null;
  trialStart: Date | null;
  trialEnd: Date | null;
  currentPeriodEnd: Date | null;
  hasPaymentMethod: boolean;
  cancelAtPeriodEnd: boolean;
}

const at = (seconds: number | null | undefined): Date | null => (seconds === null || seconds === undefined ? null : new Date(seconds * 1000));
const idOf = (v: string | { id: string } | null | undefined): string | null => (v === null || v === undefined ? null : typeof v === 'string' ? v : v.id);

/** The fields the mirror keeps, from a Stripe subscription (period end lives on items since 2025-03). */
export function mirrorFields(sub: Stripe.Subscription): MirrorFields {
  const items = sub.items?.data ?? [];
  const periodEnds = items.map((i) => i.current_period_end).filter((n): n is number => typeof n === 'number');
  const legacy = (sub as unknown as { current_period_end?: number }).current_period_end;
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

const same = (a: Date | null, b: Date | null) => (a?.getTime() ?? null) === (b?.getTime() ?? null);

/** The fields where the mirror row differs from `f` (empty when in sync). */
export function diffMirror(row: MirrorFields, f: MirrorFields): string[] {
  const out: string[] = [];
  if (row.customerId !== f.customerId) out.push('customerId');
  if (row.status !== f.status) out.push('status');
  if (row.priceId !== f.priceId) out.push('priceId');
  if (!same(row.trialStart, f.trialStart)) out.push('trialStart');
  if (!same(row.trialEnd, f.trialEnd)) out.push('trialEnd');
  if (!same(row.currentPeriodEnd, f.currentPeriodEnd)) out.push('currentPeriodEnd');
  if (row.hasPaymentMethod !== f.hasPaymentMethod) out.push('hasPaymentMethod');
  if (row.cancelAtPeriodEnd !== f.cancelAtPeriodEnd) out.push('cancelAtPeriodEnd');
  return out;
}

/**
 * Apply a subscription snapshot observed at `observedAt` (the event's `created`, or the listing
 * time). Older than what the mirror holds → ignored. Ties apply, except that a `created` event never
 * overwrites an existing row. A changed trial end re-arms the reminder.
 */
export async function applySubscriptionSnapshot(
  db: Db,
  subscriptionId: string,
  fields: MirrorFields,
  observedAt: Date,
  opts: { createOnly?: boolean } = {},
): Promise<'applied' | 'unchanged' | 'stale'> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const row = await db.subscription.findUnique({ where: { id: subscriptionId } });
    if (!row) {
      try {
        await db.subscription.create({ data: { id: subscriptionId, ...fields, stripeUpdatedAt: observedAt } });
        return 'applied';
      } catch (err) {
        if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') continue; // a concurrent delivery created it
        throw err;
      }
    }
    if (opts.createOnly || row.stripeUpdatedAt.getTime() > observedAt.getTime()) return 'stale';
    const changed = diffMirror(row, fields);
    if (changed.length === 0) {
      if (row.stripeUpdatedAt.getTime() < observedAt.getTime()) await db.subscription.updateMany({ where: { id: subscriptionId, stripeUpdatedAt: row.stripeUpdatedAt }, data: { stripeUpdatedAt: observedAt } });
      return 'unchanged';
    }
    // Compare-and-set on stripeUpdatedAt: a newer event applied meanwhile wins, and we re-read.
    const res = await db.subscription.updateMany({
      where: { id: subscriptionId, stripeUpdatedAt: row.stripeUpdatedAt },
      data: { ...fields, stripeUpdatedAt: observedAt, ...(same(row.trialEnd, fields.trialEnd) ? {} : { reminderSentAt: null }) },
    });
    if (res.count === 1) return 'applied';
  }
  return 'stale';
}

/** Local status change (invoice events, trial policy) guarded by the same ordering rule. */
export async function setMirrorStatus(db: Db, subscriptionId: string, from: readonly string[], status: string, observedAt: Date): Promise<boolean> {
  const res = await db.subscription.updateMany({
    where: { id: subscriptionId, status: { in: [...from] }, stripeUpdatedAt: { lte: observedAt } },
    data: { status, stripeUpdatedAt: observedAt },
  });
  return res.count === 1;
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
async function enforceOneTrial(deps: SubscriptionServiceDeps, sub: Stripe.Subscription, f: MirrorFields): Promise<'claimed' | 'refused' | 'none'> {
  if (!f.trialStart || !f.customerId) return 'none';
  await deps.db.trialUsage.createMany({ data: [{ customerId: f.customerId, subscriptionId: sub.id, startedAt: f.trialStart }], skipDuplicates: true });
  const usage = await deps.db.trialUsage.findUnique({ where: { customerId: f.customerId } });
  if (!usage || usage.subscriptionId === sub.id) return 'claimed';
  if (sub.status !== 'trialing') return 'none';
  await deps.stripe.subscriptions.update(sub.id, { trial_end: 'now', proration_behavior: 'none' }, { idempotencyKey: `subscription:${sub.id}:refuse-second-trial` });
  deps.logger.warn({ subscriptionId: sub.id, customerId: f.customerId, firstTrial: usage.subscriptionId }, 'second trial refused: trial ended at Stripe');
  return 'refused';
}

function invoiceSubscriptionId(invoice: Stripe.Invoice): string | null {
  const fromParent = invoice.parent?.subscription_details?.subscription;
  const legacy = (invoice as unknown as { subscription?: string | { id: string } | null }).subscription;
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
        const applied = await applySubscriptionSnapshot(deps.db, sub.id, f, observedAt, { createOnly: event.type === 'customer.subscription.created' });
        const trial = await enforceOneTrial(deps, sub, f);
        if (trial === 'refused') return 'trial_refused';
        return applied === 'applied' ? 'subscription_applied' : applied === 'unchanged' ? 'subscription_unchanged' : 'subscription_stale';
      }
      case 'invoice.paid':
      case 'invoice.payment_failed': {
        const id = invoiceSubscriptionId(event.data.object);
        if (!id) return 'ignored';
        if (!(await deps.db.subscription.findUnique({ where: { id }, select: { id: true } }))) return 'subscription_unknown';
        const changed = event.type === 'invoice.paid'
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
  const hadTrial = await deps.db.trialUsage.findUnique({ where: { customerId: input.customerId } });
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
        ? { trial_period_days: trialDays, trial_settings: { end_behavior: { missing_payment_method: deps.config.TRIAL_END_POLICY === 'cancel' ? 'cancel' : 'create_invoice' } } }
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
  const subs = await db.subscription.findMany({ where: { customerId }, orderBy: { stripeUpdatedAt: 'desc' } });
  const views = subs.map((s) => ({
    subscriptionId: s.id,
    status: s.status,
    valid: subscriptionIsValid(s, now),
    trialEnd: s.trialEnd?.toISOString() ?? null,
    currentPeriodEnd: s.currentPeriodEnd?.toISOString() ?? null,
    cancelAtPeriodEnd: s.cancelAtPeriodEnd,
  }));
  const trial = await db.trialUsage.findUnique({ where: { customerId } });
  return { customerId, valid: views.some((v) => v.valid), trialUsed: trial !== null, subscriptions: views, asOf: now.toISOString() };
}
