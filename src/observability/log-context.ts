/**
 * Correlation fields for every log line written inside a Temporal activity: pino calls this mixin
 * per line, and the activity's async context tells which workflow run it serves. Outside an
 * activity it adds nothing.
 */
import { Context } from '@temporalio/activity';
import { purchaseIdFromWorkflowId } from '../shared/ids';

export function temporalLogContext(): Record<string, string> {
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
