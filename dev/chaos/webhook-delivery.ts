/**
 * Stripe's webhook delivery behaviour against our endpoint: every event is sent more than once, the
 * copies out of order and concurrently, and each copy is redelivered with backoff until it gets a
 * 2xx (Stripe retries for up to three days; here the backoff is compressed and bounded by a deadline).
 * Each attempt is signed at send time, as Stripe signs each attempt.
 */
import type Stripe from 'stripe';
import { signedDelivery } from '../stripe-test-events';
import type { Random } from './random';

export interface DeliveryOptions {
  url: string;
  stripe: Stripe;
  webhookSecret: string;
  random: Random;
  /** copies of each event, inclusive range */
  copies: [number, number];
  /** the first attempt of each copy waits a random time up to this */
  maxInitialDelayMs: number;
  backoff: { initialMs: number; maxMs: number };
  /** a copy still unacknowledged after this long is given up (and counted) */
  giveUpAfterMs: number;
}

export interface DeliveryStats {
  events: number;
  /** HTTP attempts, first tries and redeliveries */
  attempts: number;
  /** attempts after a failed one */
  redeliveries: number;
  /** copies beyond the first of each event */
  duplicates: number;
  /** 2xx answers, by outcome in the body (`started`, `duplicate`, …) */
  outcomes: Record<string, number>;
  /** non-2xx answers by status; 0 is a connection error or timeout */
  failures: Record<string, number>;
  /** copies never acknowledged within giveUpAfterMs */
  abandoned: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class WebhookDeliverer {
  readonly stats: DeliveryStats = { events: 0, attempts: 0, redeliveries: 0, duplicates: 0, outcomes: {}, failures: {}, abandoned: 0 };
  private readonly inFlight = new Set<Promise<boolean>>();

  constructor(private readonly opts: DeliveryOptions) {}

  /** Send every copy of `event`; resolves once one copy was acknowledged (the others go on). */
  async send(event: Stripe.Event): Promise<boolean> {
    this.stats.events += 1;
    const copies = this.opts.random.int(...this.opts.copies);
    this.stats.duplicates += copies - 1;
    const all = Array.from({ length: copies }, () => this.track(this.deliverCopy(event)));
    return Promise.any(all.map(async (p) => ((await p) ? true : Promise.reject(new Error('abandoned'))))).catch(() => false);
  }

  /** Wait until every copy of every event sent so far has been acknowledged or abandoned. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private track(p: Promise<boolean>): Promise<boolean> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }

  private async deliverCopy(event: Stripe.Event): Promise<boolean> {
    const { random, backoff } = this.opts;
    const deadline = Date.now() + this.opts.giveUpAfterMs;
    await sleep(random.int(0, this.opts.maxInitialDelayMs));
    let wait = backoff.initialMs;
    for (let attempt = 0; ; attempt += 1) {
      if (attempt > 0) this.stats.redeliveries += 1;
      this.stats.attempts += 1;
      const status = await this.post(event);
      if (status === 'ok') return true;
      this.stats.failures[status] = (this.stats.failures[status] ?? 0) + 1;
      if (Date.now() + wait > deadline) {
        this.stats.abandoned += 1;
        return false;
      }
      // Full jitter, as Stripe spreads its retries.
      await sleep(random.int(wait / 2, wait));
      wait = Math.min(backoff.maxMs, wait * 2);
    }
  }

  private async post(event: Stripe.Event): Promise<'ok' | string> {
    const { body, signature } = signedDelivery(this.opts.stripe, this.opts.webhookSecret, event);
    try {
      const res = await fetch(this.opts.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': signature },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      if (!res.ok) return String(res.status);
      const outcome = parseOutcome(text);
      this.stats.outcomes[outcome] = (this.stats.outcomes[outcome] ?? 0) + 1;
      return 'ok';
    } catch {
      return '0';
    }
  }
}

function parseOutcome(text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && 'outcome' in parsed && typeof parsed.outcome === 'string') return parsed.outcome;
  } catch {
    // not JSON
  }
  return 'unknown';
}
