/**
 * The daily trial check: repair drift between the mirror and Stripe's listing, send each
 * trial reminder once, and apply TRIAL_END_POLICY to trials that ended without a payment method.
 * The clock is injected so tests can stand on boundary dates.
 */
import type { Logger } from 'pino';
import type Stripe from 'stripe';
import { queueAlerts } from '../db/alerts';
import type { Db } from '../db/client';
import {
  applySubscriptionSnapshot,
  claimTrialReminder,
  diffMirror,
  findSubscription,
  listEndedTrialsWithoutPaymentMethod,
  listSubscriptionIdsNotIn,
  listTrialsEndingBetween,
  setMirrorStatus,
} from '../db/subscriptions';
import { mirrorFields } from '../services/subscriptions';
import { trialEnded, trialReminderDue } from '../shared/subscription-rules';
import { DAY_MS } from '../shared/treasury-health';

export interface SubscriptionActivityDeps {
  db: Db;
  stripe: Stripe;
  logger: Logger;
  /** defaults: 3 days, cancel (the config defaults) */
  trialPolicy?: { reminderDays: number; endPolicy: 'cancel' | 'past_due' };
  now?: () => Date;
}

interface DriftItem {
  subscriptionId: string;
  kind: 'missing_in_mirror' | 'field_mismatch' | 'missing_in_stripe';
  fields: string[];
}

export interface DriftReport {
  listed: number;
  repaired: number;
  /** at most 100 items travel in the payload; `total` counts them all */
  items: DriftItem[];
  total: number;
}

const LIVE = ['trialing', 'active', 'past_due', 'unpaid', 'incomplete', 'paused'];

export function createSubscriptionActivities({
  db,
  stripe,
  logger,
  trialPolicy = { reminderDays: 3, endPolicy: 'cancel' },
  now = () => new Date(),
}: SubscriptionActivityDeps) {
  return {
    async repairSubscriptionDrift(): Promise<DriftReport> {
      const listedAt = now();
      const seen = new Set<string>();
      const items: DriftItem[] = [];
      let repaired = 0;
      for await (const sub of stripe.subscriptions.list({ status: 'all', limit: 100 })) {
        seen.add(sub.id);
        const f = mirrorFields(sub);
        const row = await findSubscription(db, sub.id);
        const fields = row ? diffMirror(row, f) : [];
        if (row && fields.length === 0) continue;
        // The listing is Stripe's current state: it wins over anything the mirror saw before now.
        const res = await applySubscriptionSnapshot(db, sub.id, f, row && row.stripeUpdatedAt > listedAt ? row.stripeUpdatedAt : listedAt);
        if (res === 'applied') repaired += 1;
        items.push({ subscriptionId: sub.id, kind: row ? 'field_mismatch' : 'missing_in_mirror', fields });
      }
      const orphans = await listSubscriptionIdsNotIn(db, LIVE, [...seen]);
      for (const id of orphans) items.push({ subscriptionId: id, kind: 'missing_in_stripe', fields: [] });
      if (items.length) logger.warn({ drift: items.length, repaired }, 'subscription mirror drift');
      if (items.length) {
        const day = listedAt.toISOString().slice(0, 10);
        await queueAlerts(db, [
          {
            dedupeKey: `subscription-drift:${day}`,
            severity: 'warning',
            kind: 'subscription_drift',
            message: `${items.length} subscription(s) drifted from Stripe; ${repaired} repaired from Stripe's listing`,
            payload: {
              total: items.length,
              repaired,
              missingInStripe: orphans.length,
              sample: items
                .slice(0, 20)
                .map((i) => `${i.kind}:${i.subscriptionId}`)
                .join(','),
            },
          },
        ]);
      }
      return { listed: seen.size, repaired, items: items.slice(0, 100), total: items.length };
    },

    /**
     * Exactly once per trial end: claiming reminderSentAt and queueing the notice in the outbox happen
     * in one transaction, and the outbox key names the subscription and its trial end.
     */
    async sendTrialReminders(): Promise<{ sent: string[] }> {
      const t = now();
      const candidates = await listTrialsEndingBetween(db, t, new Date(t.getTime() + trialPolicy.reminderDays * DAY_MS), 1000);
      const sent: string[] = [];
      for (const s of candidates) {
        if (!s.trialEnd || !trialReminderDue(s.trialEnd, t, trialPolicy.reminderDays)) continue;
        const trialEnd = s.trialEnd;
        const claimed = await claimTrialReminder(db, {
          subscriptionId: s.id,
          trialEnd,
          at: t,
          notice: {
            dedupeKey: `trial-reminder:${s.id}:${trialEnd.toISOString()}`,
            severity: 'info',
            kind: 'trial_reminder',
            message: `trial of subscription ${s.id} ends at ${trialEnd.toISOString()}`,
            payload: {
              subscriptionId: s.id,
              customerId: s.customerId,
              trialEnd: trialEnd.toISOString(),
              hasPaymentMethod: s.hasPaymentMethod,
            },
          },
        });
        if (claimed) sent.push(s.id);
      }
      return { sent };
    },

    /** Trials over without a payment method: cancel at Stripe (idempotent) or mark past_due, by policy. */
    async handleEndedTrials(): Promise<{ canceled: string[]; markedPastDue: string[] }> {
      const t = now();
      const ended = await listEndedTrialsWithoutPaymentMethod(db, t, 1000);
      const canceled: string[] = [];
      const markedPastDue: string[] = [];
      for (const s of ended) {
        if (!s.trialEnd || !trialEnded(s.trialEnd, t)) continue;
        const observedAt = s.stripeUpdatedAt > t ? s.stripeUpdatedAt : t;
        if (trialPolicy.endPolicy === 'cancel') {
          await stripe.subscriptions.cancel(
            s.id,
            { invoice_now: false, prorate: false },
            { idempotencyKey: `subscription:${s.id}:trial-ended-cancel` },
          );
          if (await setMirrorStatus(db, s.id, ['trialing'], 'canceled', observedAt)) canceled.push(s.id);
        } else if (await setMirrorStatus(db, s.id, ['trialing'], 'past_due', observedAt)) {
          markedPastDue.push(s.id);
        }
      }
      if (canceled.length || markedPastDue.length)
        logger.info({ canceled: canceled.length, markedPastDue: markedPastDue.length }, 'ended trials handled');
      return { canceled, markedPastDue };
    },
  };
}
