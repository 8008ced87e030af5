/**
 * Webhook delivery as Stripe does it, for the dev Stripe: every event it produces is signed with the
 * endpoint's secret (the `Stripe-Signature` scheme, through the SDK's test-header helper, a fresh
 * timestamp per attempt) and POSTed to one endpoint in the background. A 2xx answer delivers it;
 * anything else, a refused connection or a timeout schedules another attempt with exponential
 * backoff, up to a bound. Stripe retries for three days; the default schedule keeps the shape and
 * compresses it to minutes. Each delivery's state is journalled in the store, so events still
 * undelivered when the dev Stripe stops are sent after it starts again.
 */
import Stripe from 'stripe';
import type { DevStripeStore, StripeObject, WebhookDelivery } from './store';

export interface WebhookEndpoint {
  url: string;
  /** the endpoint's signing secret (`whsec_…`) */
  secret: string;
}

export interface RetrySchedule {
  /** wait after the first failed attempt; each further failure multiplies it by `factor` */
  initialDelayMs: number;
  factor: number;
  maxDelayMs: number;
  /** attempts in all, the first included; after the last failure the delivery is `failed` */
  maxAttempts: number;
  /** an attempt that has not been answered by then counts as failed */
  timeoutMs: number;
}

/** 1 s, 2 s, 4 s … capped at a minute, 12 attempts: about six minutes before giving up. */
export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = {
  initialDelayMs: 1_000,
  factor: 2,
  maxDelayMs: 60_000,
  maxAttempts: 12,
  timeoutMs: 10_000,
};

/** The wait before attempt `attempts + 1`, after `attempts` failures. */
function retryDelayMs(schedule: RetrySchedule, attempts: number): number {
  return Math.min(schedule.maxDelayMs, schedule.initialDelayMs * schedule.factor ** Math.max(0, attempts - 1));
}

/**
 * fetch's `TypeError: fetch failed` carries the reason (ECONNREFUSED, a reset, the timeout) as its
 * cause. Duck-typed: the error may come from another realm (a jest VM context), where instanceof fails.
 */
function describeFailure(err: unknown): string {
  const field = (o: unknown, k: string): unknown =>
    o !== null && typeof o === 'object' && k in o ? (o as Record<string, unknown>)[k] : undefined;
  const message = typeof field(err, 'message') === 'string' ? String(field(err, 'message')) : String(err);
  const code = field(field(err, 'cause'), 'code');
  return typeof code === 'string' ? `${message} (${code})` : message;
}

export class WebhookSender {
  // The SDK signs without calling Stripe; the key only satisfies its constructor.
  private readonly signer = new Stripe('sk_test_dev_stripe_webhook_signer');
  private stopped = false;
  private wake: (() => void) | undefined;
  private inflight: AbortController | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly store: DevStripeStore,
    private readonly endpoint: WebhookEndpoint,
    private readonly schedule: RetrySchedule = DEFAULT_RETRY_SCHEDULE,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** Queue an event for delivery; it is journalled with the request that produced it. */
  enqueue(event: StripeObject): void {
    this.store.putDelivery({
      eventId: event.id,
      endpoint: this.endpoint.url,
      status: 'pending',
      attempts: 0,
      nextAttemptAt: Date.now(),
      lastStatus: null,
      lastError: null,
    });
    // After the current request has flushed its journal lines.
    setImmediate(() => this.wake?.());
  }

  /** Deliver what is pending, the journal's leftovers first, until stop(). */
  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.inflight?.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const pending = this.store.deliveries().filter((d) => d.status === 'pending' && d.endpoint === this.endpoint.url);
      const now = Date.now();
      // In creation order among the due ones, so a payment's events arrive in the order Stripe made them.
      const due = pending.find((d) => d.nextAttemptAt <= now);
      if (due) {
        await this.attempt(due);
        continue;
      }
      const next = Math.min(...pending.map((d) => d.nextAttemptAt));
      await new Promise<void>((resolve) => {
        const timer = Number.isFinite(next) ? setTimeout(resolve, next - now) : undefined;
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async attempt(delivery: WebhookDelivery): Promise<void> {
    const event = this.store.get('event', delivery.eventId);
    if (!event) {
      this.save({ ...delivery, status: 'failed', lastError: 'event not found' });
      return;
    }
    const payload = JSON.stringify(event);
    const signature = this.signer.webhooks.generateTestHeaderString({ payload, secret: this.endpoint.secret });
    this.inflight = new AbortController();
    let status: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(this.endpoint.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'stripe-signature': signature,
          'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        },
        body: payload,
        signal: AbortSignal.any([this.inflight.signal, AbortSignal.timeout(this.schedule.timeoutMs)]),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) error = `endpoint answered ${res.status}`;
    } catch (err) {
      // Stopping mid-attempt leaves the delivery pending: it is sent again after a restart.
      if (this.stopped) return;
      error = describeFailure(err);
    } finally {
      this.inflight = undefined;
    }
    const attempts = delivery.attempts + 1;
    const type = String(event.type);
    if (error === null) {
      this.save({ ...delivery, status: 'delivered', attempts, lastStatus: status, lastError: null });
      if (attempts > 1) this.log(`[dev-stripe] webhook ${type} ${event.id} delivered on attempt ${attempts}`);
      return;
    }
    if (attempts >= this.schedule.maxAttempts) {
      this.save({ ...delivery, status: 'failed', attempts, lastStatus: status, lastError: error });
      this.log(`[dev-stripe] webhook ${type} ${event.id} not delivered after ${attempts} attempts (${error}); giving up`);
      return;
    }
    const delay = retryDelayMs(this.schedule, attempts);
    this.save({ ...delivery, attempts, nextAttemptAt: Date.now() + delay, lastStatus: status, lastError: error });
    this.log(`[dev-stripe] webhook ${type} ${event.id} attempt ${attempts} failed (${error}); retrying in ${delay} ms`);
  }

  private save(delivery: WebhookDelivery): void {
    this.store.putDelivery(delivery);
    this.store.flush();
  }
}
