/** Pure subscription and trial rules (sandbox-safe), tested at their boundary dates. */
import { DAY_MS } from './treasury-health';

export interface SubscriptionTimes {
  status: string;
  trialEnd: Date | null;
  currentPeriodEnd: Date | null;
}

/** Stripe's rule: trialing or active, and the trial (when trialing) or the period not yet ended. */
export function subscriptionIsValid(sub: SubscriptionTimes, now: Date): boolean {
  if (sub.status === 'trialing') return sub.trialEnd !== null && sub.trialEnd.getTime() > now.getTime();
  if (sub.status === 'active') return sub.currentPeriodEnd !== null && sub.currentPeriodEnd.getTime() > now.getTime();
  return false;
}

/** A reminder is due once the trial ends within `reminderDays` from now and has not ended yet. */
export function trialReminderDue(trialEnd: Date, now: Date, reminderDays: number): boolean {
  const t = trialEnd.getTime();
  return t > now.getTime() && t <= now.getTime() + reminderDays * DAY_MS;
}

/** The trial is over at trial_end exactly. */
export function trialEnded(trialEnd: Date, now: Date): boolean {
  return trialEnd.getTime() <= now.getTime();
}
