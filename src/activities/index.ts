import { createNotifyActivities, type NotifyDeps } from './notify';
import { createPurchaseActivities, type PurchaseActivityDeps } from './purchase';
import { createReconciliationActivities, type ReconciliationActivityDeps } from './reconciliation';
import { createStripeActivities, type StripeActivityDeps } from './stripe';
import { createSubscriptionActivities, type SubscriptionActivityDeps } from './subscriptions';

export type ActivityDeps = StripeActivityDeps & PurchaseActivityDeps & NotifyDeps & ReconciliationActivityDeps & SubscriptionActivityDeps;

/** Every activity the worker registers, built from injected dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createStripeActivities(deps),
    ...createPurchaseActivities(deps),
    ...createNotifyActivities(deps),
    ...createReconciliationActivities(deps),
    ...createSubscriptionActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
