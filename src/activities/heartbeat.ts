/**
 * Liveness for the long activities (the on-chain settlement, the Stripe calls). Their workflow
 * proxies set a heartbeatTimeout of a few seconds, so when the worker running one dies the server
 * retries it on another worker within seconds instead of waiting out its startToCloseTimeout.
 * The heartbeat runs on a timer around the call, so the rails and the Stripe client stay free of
 * Temporal: what it proves is that this worker is alive; each call's own timeouts bound its work.
 */
import { asyncLocalStorage } from '@temporalio/activity';

/** The timer's period; the worker sends heartbeats at most this often (maxHeartbeatThrottleInterval). */
export const HEARTBEAT_INTERVAL_MS = 1_000;

/** Run `work` while heartbeating every `intervalMs`; outside an activity (a direct call) it only runs `work`. */
export async function withHeartbeat<T>(work: () => Promise<T>, intervalMs: number = HEARTBEAT_INTERVAL_MS): Promise<T> {
  const context = asyncLocalStorage.getStore();
  if (!context) return work();
  context.heartbeat();
  const timer = setInterval(() => context.heartbeat(), intervalMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
