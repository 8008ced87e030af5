import { createNotifyActivities, type NotifyDeps } from './notify';
import { createPurchaseActivities, type PurchaseActivityDeps } from './purchase';
import { createStripeActivities, type StripeActivityDeps } from './stripe';

export type ActivityDeps = StripeActivityDeps & PurchaseActivityDeps & NotifyDeps;

/** Every activity the worker registers, built from injected dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createStripeActivities(deps),
    ...createPurchaseActivities(deps),
    ...createNotifyActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
