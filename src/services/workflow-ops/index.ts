/**
 * Operations on purchase runs for the admin API, the dashboard and the ops CLI: visibility listings
 * (stuck / awaiting / failed) enriched with describe() (./visibility), and the audited actions
 * (./actions), and the emergency pause (./settlement-pause). The audit trail itself is ../audit.
 */
import { createActions } from './actions';
import { createSettlementPause } from './settlement-pause';
import type { WorkflowOpsDeps } from './types';
import { createVisibility } from './visibility';

export * from './types';

export function createWorkflowOps(deps: WorkflowOpsDeps) {
  const visibility = createVisibility(deps);
  return {
    list: visibility.list,
    show: visibility.show,
    queries: visibility.queries,
    uiUrl: visibility.uiUrl,
    ...createActions(deps, visibility),
    ...createSettlementPause(deps, visibility),
  };
}

export type WorkflowOps = ReturnType<typeof createWorkflowOps>;
