/**
 * The subscription mirror and trial usage: Prisma access for subscriptions. The mirror is kept in
 * Stripe's order: every write is a compare-and-set on `stripeUpdatedAt`, so an older event never
 * overwrites a newer one.
 */
import { queueAlerts, type QueuedAlert } from './alerts';
import { Prisma, type Db } from './client';

/** The fields the mirror keeps of a Stripe subscription. */
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

export interface MirroredSubscription extends MirrorFields {
  id: string;
  reminderSentAt: Date | null;
  /** created time of the newest Stripe event applied */
  stripeUpdatedAt: Date;
}

const mirrorSelect = {
  id: true,
  customerId: true,
  status: true,
  priceId: true,
  trialStart: true,
  trialEnd: true,
  currentPeriodEnd: true,
  hasPaymentMethod: true,
  cancelAtPeriodEnd: true,
  reminderSentAt: true,
  stripeUpdatedAt: true,
} as const;

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

export const findSubscription = (db: Db, subscriptionId: string): Promise<MirroredSubscription | null> =>
  db.subscription.findUnique({ where: { id: subscriptionId }, select: mirrorSelect });

export async function subscriptionExists(db: Db, subscriptionId: string): Promise<boolean> {
  return (await db.subscription.findUnique({ where: { id: subscriptionId }, select: { id: true } })) !== null;
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
    const row = await findSubscription(db, subscriptionId);
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
      if (row.stripeUpdatedAt.getTime() < observedAt.getTime())
        await db.subscription.updateMany({
          where: { id: subscriptionId, stripeUpdatedAt: row.stripeUpdatedAt },
          data: { stripeUpdatedAt: observedAt },
        });
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
export async function setMirrorStatus(
  db: Db,
  subscriptionId: string,
  from: readonly string[],
  status: string,
  observedAt: Date,
): Promise<boolean> {
  const res = await db.subscription.updateMany({
    where: { id: subscriptionId, status: { in: [...from] }, stripeUpdatedAt: { lte: observedAt } },
    data: { status, stripeUpdatedAt: observedAt },
  });
  return res.count === 1;
}

/** A customer's subscriptions, the most recently changed at Stripe first. */
export const listCustomerSubscriptions = (db: Db, customerId: string): Promise<MirroredSubscription[]> =>
  db.subscription.findMany({ where: { customerId }, orderBy: { stripeUpdatedAt: 'desc' }, select: mirrorSelect });

/** Ids of mirrored subscriptions in one of `statuses` that are not among `seen`. */
export async function listSubscriptionIdsNotIn(db: Db, statuses: readonly string[], seen: readonly string[]): Promise<string[]> {
  const rows = await db.subscription.findMany({ where: { status: { in: [...statuses] }, id: { notIn: [...seen] } }, select: { id: true } });
  return rows.map((r) => r.id);
}

/** Trialing subscriptions whose trial ends in (after, until] and whose reminder is not yet claimed. */
export const listTrialsEndingBetween = (db: Db, after: Date, until: Date, limit: number): Promise<MirroredSubscription[]> =>
  db.subscription.findMany({
    where: { status: 'trialing', reminderSentAt: null, trialEnd: { gt: after, lte: until } },
    orderBy: { trialEnd: 'asc' },
    take: limit,
    select: mirrorSelect,
  });

/** Trialing subscriptions without a payment method whose trial ended at or before `at`. */
export const listEndedTrialsWithoutPaymentMethod = (db: Db, at: Date, limit: number): Promise<MirroredSubscription[]> =>
  db.subscription.findMany({
    where: { status: 'trialing', hasPaymentMethod: false, trialEnd: { lte: at } },
    take: limit,
    select: mirrorSelect,
  });

/**
 * Claim the reminder of one trial end and queue its notice in the outbox, in one transaction. False
 * when the reminder was already claimed or the trial end moved meanwhile.
 */
export async function claimTrialReminder(
  db: Db,
  input: { subscriptionId: string; trialEnd: Date; at: Date; notice: QueuedAlert },
): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const res = await tx.subscription.updateMany({
      where: { id: input.subscriptionId, reminderSentAt: null, trialEnd: input.trialEnd },
      data: { reminderSentAt: input.at },
    });
    if (res.count === 0) return false;
    await queueAlerts(tx, [input.notice]);
    return true;
  });
}

export interface TrialUsage {
  customerId: string;
  subscriptionId: string;
  startedAt: Date;
}

export const findTrialUsage = (db: Db, customerId: string): Promise<TrialUsage | null> =>
  db.trialUsage.findUnique({ where: { customerId }, select: { customerId: true, subscriptionId: true, startedAt: true } });

/**
 * Claim the customer's one trial for this subscription unless another already holds it. Returns the
 * usage as stored: its subscriptionId names the subscription that owns the trial.
 */
export async function claimTrialUsage(db: Db, usage: TrialUsage): Promise<TrialUsage | null> {
  await db.trialUsage.createMany({ data: [usage], skipDuplicates: true });
  return findTrialUsage(db, usage.customerId);
}
