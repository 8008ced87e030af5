/** Decoding of the Temporal service's protobuf messages into the plain values the operations report. */
import { google, temporal } from '@temporalio/proto';
import Long from 'long';

type Failure = temporal.api.failure.v1.IFailure;
const { EventType, PendingActivityState } = temporal.api.enums.v1;

export function timestampToDate(ts: google.protobuf.ITimestamp | null | undefined): Date | null {
  if (!ts || ts.seconds === null || ts.seconds === undefined) return null;
  return new Date(Long.fromValue(ts.seconds).toNumber() * 1000 + Math.floor((ts.nanos ?? 0) / 1e6));
}

export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/** int64 fields decode as Long; an absent one reads as 0. */
export const int64ToNumber = (v: Long | number | null | undefined): number =>
  v === null || v === undefined ? 0 : Long.fromValue(v).toNumber();

export const toInt64 = (n: number): Long => Long.fromNumber(n);

/** A failure and up to three of its causes, `type: message` each, outermost first. */
export function failureText(f: Failure | null | undefined): string | null {
  if (!f) return null;
  const parts: string[] = [];
  for (let cur: Failure | null | undefined = f, depth = 0; cur && depth < 4; cur = cur.cause, depth++) {
    const type = cur.applicationFailureInfo?.type;
    parts.push(type ? `${type}: ${cur.message ?? ''}` : (cur.message ?? ''));
  }
  return parts.filter(Boolean).join(' <- ').slice(0, 1000) || null;
}

/** `SCHEDULED`, `STARTED`, … (the enum name without its prefix). */
export function pendingActivityStateName(state: temporal.api.enums.v1.PendingActivityState | null | undefined): string {
  const name = state === null || state === undefined ? undefined : PendingActivityState[state];
  return name ? name.replace('PENDING_ACTIVITY_STATE_', '') : String(state);
}

/** The events a reset may point at: the end of a workflow task. */
export const WORKFLOW_TASK_FINISH_EVENTS: readonly temporal.api.enums.v1.EventType[] = [
  EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
  EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
];

export const isWorkflowTaskCompleted = (e: temporal.api.history.v1.IHistoryEvent): boolean =>
  e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED;
