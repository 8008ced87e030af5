/**
 * The Temporal worker's tuning, one place for the engine's worker and the bench's baseline worker
 * (bench/baseline/worker.ts), so the baseline runs with the same options.
 */
import type { WorkerOptions } from '@temporalio/worker';
import { HEARTBEAT_INTERVAL_MS } from './activities/heartbeat';
import type { Config } from './config';

export function workerTuning(
  config: Pick<Config, 'WORKER_WORKFLOW_TASK_SLOTS' | 'WORKER_MAX_CACHED_WORKFLOWS'>,
): Pick<
  WorkerOptions,
  | 'shutdownGraceTime'
  | 'maxHeartbeatThrottleInterval'
  | 'stickyQueueScheduleToStartTimeout'
  | 'maxConcurrentWorkflowTaskExecutions'
  | 'maxCachedWorkflows'
> {
  return {
    // Graceful stop: let running activities finish before the process exits.
    shutdownGraceTime: '5 seconds',
    // Send each heartbeat at once rather than at 80% of the heartbeatTimeout, so a busy machine
    // cannot make a live activity look dead.
    maxHeartbeatThrottleInterval: HEARTBEAT_INTERVAL_MS,
    // A workflow task handed to a worker that has since died waits on that worker's sticky queue
    // this long before the server gives it to another (the default is 10 s).
    stickyQueueScheduleToStartTimeout: '2 seconds',
    // Workflow tasks run one at a time on the worker's workflow thread. A restarted worker has an
    // empty cache and replays each workflow's whole history, so with the SDK's 40 slots a burst of
    // replays queued behind each other for longer than the workflow task timeout: the server timed
    // them out, scheduled them again, and the replay work was thrown away. Fewer slots leave the
    // backlog on the server, where it costs nothing, and every task that starts finishes in time.
    maxConcurrentWorkflowTaskExecutions: config.WORKER_WORKFLOW_TASK_SLOTS,
    // The SDK's default grows with the heap limit (2,310 on this machine), so 1,000 parked purchases
    // all stayed in memory; a purchase in progress needs its cache entry for a second or two.
    maxCachedWorkflows: Math.max(config.WORKER_MAX_CACHED_WORKFLOWS, config.WORKER_WORKFLOW_TASK_SLOTS),
  };
}
