import { createCreatorWebhookActivities, type CreatorWebhookDeps } from './creator-webhooks';
import { createHealthActivities, type HealthActivityDeps } from './health';
import { createNotifyActivities, type NotifyDeps } from './notify';
import { createPurchaseActivities, type PurchaseActivityDeps } from './purchase';
import { createReconciliationActivities, type ReconciliationActivityDeps } from './reconciliation';
import { createStripeActivities, type StripeActivityDeps } from './stripe';
import { createSubscriptionActivities, type SubscriptionActivityDeps } from './subscriptions';

export type ActivityDeps = StripeActivityDeps &
  PurchaseActivityDeps &
  NotifyDeps &
  ReconciliationActivityDeps &
  SubscriptionActivityDeps &
  HealthActivityDeps &
  CreatorWebhookDeps;

/** Every activity the worker registers, built from injected dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createStripeActivities(deps),
    ...createPurchaseActivities(deps),
    ...createNotifyActivities(deps),
    ...createReconciliationActivities(deps),
    ...createSubscriptionActivities(deps),
    ...createHealthActivities(deps),
    ...createCreatorWebhookActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
