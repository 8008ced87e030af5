/**
 * One run's time, step by step, from its Temporal history: for every activity the wait between
 * being scheduled and a worker picking it up (schedule-to-start) and its run time; for the workflow
 * tasks the same two; and the whole run from its first event to its last. Pure: it takes the
 * events as the client returns them (only the fields read here), so tests feed it plain objects.
 */

/** A protobuf int64 as the client decodes it (a Long), or a plain number or string. */
type Int64 = number | string | { toString(): string };

interface Timestamp {
  seconds?: Int64 | null;
  nanos?: number | null;
}

export interface HistoryEventLike {
  eventId?: Int64 | null;
  eventTime?: Timestamp | null;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  activityTaskStartedEventAttributes?: { scheduledEventId?: Int64 | null } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: Int64 | null } | null;
  activityTaskFailedEventAttributes?: { scheduledEventId?: Int64 | null } | null;
  activityTaskTimedOutEventAttributes?: { scheduledEventId?: Int64 | null } | null;
  workflowTaskScheduledEventAttributes?: object | null;
  workflowTaskStartedEventAttributes?: { scheduledEventId?: Int64 | null } | null;
  workflowTaskCompletedEventAttributes?: { scheduledEventId?: Int64 | null } | null;
  upsertWorkflowSearchAttributesEventAttributes?: object | null;
}

interface StepTiming {
  name: string;
  /** ms from ActivityTaskScheduled to ActivityTaskStarted (of the attempt that ended it) */
  scheduleToStartMs: number;
  /** ms from ActivityTaskStarted to its completion (or final failure) */
  runMs: number;
  outcome: 'completed' | 'failed' | 'timed_out';
}

export interface HistoryBreakdown {
  /** ms from the first event to the last */
  totalMs: number;
  activities: StepTiming[];
  workflowTasks: { count: number; scheduleToStartMs: number; runMs: number };
  searchAttributeUpserts: number;
  events: number;
}

const num = (v: Int64 | null | undefined): number => (v === null || v === undefined ? NaN : Number(v.toString()));
const ms = (t: Timestamp | null | undefined): number => (t ? num(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : NaN);

export function breakdownHistory(events: readonly HistoryEventLike[]): HistoryBreakdown {
  const byId = new Map<number, HistoryEventLike>();
  for (const e of events) byId.set(num(e.eventId), e);
  const timeOf = (id: Int64 | null | undefined) => ms(byId.get(num(id))?.eventTime);

  // An activity's started event is written with its completion, so pair each ending with the
  // started event that names the same scheduled event.
  const startedAt = new Map<number, number>();
  const wfStartedAt = new Map<number, number>();
  const activities: StepTiming[] = [];
  const workflowTasks = { count: 0, scheduleToStartMs: 0, runMs: 0 };
  let upserts = 0;
  for (const e of events) {
    const t = ms(e.eventTime);
    if (e.activityTaskStartedEventAttributes) startedAt.set(num(e.activityTaskStartedEventAttributes.scheduledEventId), t);
    const ended =
      (e.activityTaskCompletedEventAttributes && { a: e.activityTaskCompletedEventAttributes, outcome: 'completed' as const }) ||
      (e.activityTaskFailedEventAttributes && { a: e.activityTaskFailedEventAttributes, outcome: 'failed' as const }) ||
      (e.activityTaskTimedOutEventAttributes && { a: e.activityTaskTimedOutEventAttributes, outcome: 'timed_out' as const });
    if (ended) {
      const scheduledId = num(ended.a.scheduledEventId);
      const scheduled = byId.get(scheduledId);
      const started = startedAt.get(scheduledId) ?? t;
      activities.push({
        name: scheduled?.activityTaskScheduledEventAttributes?.activityType?.name ?? '?',
        scheduleToStartMs: started - timeOf(scheduledId),
        runMs: t - started,
        outcome: ended.outcome,
      });
    }
    if (e.workflowTaskStartedEventAttributes) {
      const scheduledId = num(e.workflowTaskStartedEventAttributes.scheduledEventId);
      wfStartedAt.set(scheduledId, t);
      workflowTasks.scheduleToStartMs += t - timeOf(scheduledId);
    }
    if (e.workflowTaskCompletedEventAttributes) {
      const scheduledId = num(e.workflowTaskCompletedEventAttributes.scheduledEventId);
      workflowTasks.count += 1;
      workflowTasks.runMs += t - (wfStartedAt.get(scheduledId) ?? t);
    }
    if (e.upsertWorkflowSearchAttributesEventAttributes) upserts += 1;
  }
  const times = events.map((e) => ms(e.eventTime)).filter(Number.isFinite);
  return {
    totalMs: times.length ? Math.max(...times) - Math.min(...times) : NaN,
    activities,
    workflowTasks,
    searchAttributeUpserts: upserts,
    events: events.length,
  };
}

/** Sums of a breakdown: time waiting for workers, time in activities, time in workflow tasks. */
export function breakdownTotals(b: HistoryBreakdown): {
  activityScheduleToStartMs: number;
  activityRunMs: number;
  workflowTaskScheduleToStartMs: number;
  workflowTaskRunMs: number;
} {
  return {
    activityScheduleToStartMs: b.activities.reduce((s, a) => s + a.scheduleToStartMs, 0),
    activityRunMs: b.activities.reduce((s, a) => s + a.runMs, 0),
    workflowTaskScheduleToStartMs: b.workflowTasks.scheduleToStartMs,
    workflowTaskRunMs: b.workflowTasks.runMs,
  };
}
