/**
 * Correlation fields for every log line written inside a Temporal activity: pino calls this mixin
 * per line, and the activity's async context tells which workflow run it serves. Outside an
 * activity it adds nothing.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Context } from '@temporalio/activity';
import { purchaseIdFromWorkflowId } from '../shared/ids';

/** The HTTP request being served, for the API's log lines (set by src/api/request-id.ts). */
const requestStore = new AsyncLocalStorage<{ requestId: string }>();

export function runWithRequestId<T>(requestId: string, fn: () => T): T {
  return requestStore.run({ requestId }, fn);
}

function requestLogContext(): Record<string, string> {
  const store = requestStore.getStore();
  return store ? { requestId: store.requestId } : {};
}

/** pino's mixin: the activity's workflow fields inside an activity, the request id inside a request. */
export function logContext(): Record<string, string> {
  return { ...requestLogContext(), ...temporalLogContext() };
}

function temporalLogContext(): Record<string, string> {
  let info: Context['info'];
  try {
    info = Context.current().info;
  } catch {
    return {};
  }
  if (!info.workflowExecution) return { activityType: info.activityType };
  const { workflowId, runId } = info.workflowExecution;
  const purchaseId = purchaseIdFromWorkflowId(workflowId);
  return { workflowId, runId, activityType: info.activityType, attempt: String(info.attempt), ...(purchaseId ? { purchaseId } : {}) };
}
