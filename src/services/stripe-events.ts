/**
 * Stripe webhook events through an outbox in PostgreSQL: the webhook stores each event once under its
 * event id and is acknowledged; then an actor acts on it (start or signal the purchase run). The
 * actor is either the API process itself, in the background right after the acknowledgement
 * (`actOnReceipt`), or another process running the outbox (the worker, by default), woken by the
 * `webhook_event_stored` notification the API sends once the event's insert has committed, so the
 * API's event loop only verifies and stores. An event not acted on (its actor died, Temporal or
 * PostgreSQL was down) is claimed again by an outbox poller once its lease or backoff has passed, so
 * no acknowledged event is lost. Acting is idempotent per event, so acting twice (two processes, a
 * lease that ran out) changes nothing.
 */
import type Stripe from 'stripe';
import type { Logger } from 'pino';
import { CHANGE_CHANNELS, type ChangeFeed } from '../db/change-feed';
import type { Db } from '../db/client';
import { attachPaymentIntent, findPurchaseId, findPurchaseIdByPaymentIntent } from '../db/purchases';
import {
  announceStoredWebhookEvents,
  claimDueWebhookEvents,
  deferWebhookEvent,
  markWebhookEventProcessed,
  storeWebhookEvent,
  unmatchedChargeReversals,
  type ChargeReversalEventType,
} from '../db/webhook-events';
import type { PurchaseWorkflows } from './purchase-workflows';
import type { SubscriptionEventOutcome } from './subscriptions';

export type EventOutcome =
  | 'duplicate'
  | 'started'
  | 'already_completed'
  | 'signalled'
  | 'clawback'
  | 'awaiting_async_payment'
  | 'unknown_purchase'
  | 'ignored'
  | SubscriptionEventOutcome;

/** What the webhook answers: stored and queued for acting, or already acted on. */
export type ReceiveOutcome = 'queued' | 'duplicate';

export interface StripeEventDeps {
  db: Db;
  workflows: PurchaseWorkflows;
  logger: Logger;
  /** Subscription events are handled by the subscription mirror when it is wired in. */
  onSubscriptionEvent?: (event: Stripe.Event) => Promise<SubscriptionEventOutcome>;
  /** each event acted on, with its outcome (the webhook metrics) */
  onOutcome?: (type: string, outcome: EventOutcome) => void;
  /** defaults: see OUTBOX_DEFAULTS */
  outbox?: Partial<OutboxOptions>;
  /**
   * Act on a new event in this process right after storing it (leased to this process). Off: the
   * event is stored due at once, for a process running the outbox to take.
   */
  actOnReceipt?: boolean;
}

interface OutboxOptions {
  /** events acted on at once by this process; more wait in memory (and in PostgreSQL) */
  concurrency: number;
  /** how long an event being acted on is left to this process before another may take it */
  leaseMs: number;
  /** how often the poller looks for events nobody is acting on */
  pollMs: number;
  /** the first retry's delay after a failed attempt, doubling up to maxRetryMs */
  retryMs: number;
  maxRetryMs: number;
}

const OUTBOX_DEFAULTS: OutboxOptions = { concurrency: 32, leaseMs: 10_000, pollMs: 1_000, retryMs: 1_000, maxRetryMs: 30_000 };

export type StripeEventHandler = ReturnType<typeof createStripeEventHandler>;

export function createStripeEventHandler({
  db,
  workflows,
  logger,
  onSubscriptionEvent,
  onOutcome,
  outbox,
  actOnReceipt = true,
}: StripeEventDeps) {
  const opts: OutboxOptions = { ...OUTBOX_DEFAULTS, ...outbox };
  /** Our purchase id travels as metadata.purchase_id (and client_reference_id); else match the PaymentIntent. */
  async function purchaseIdFor(
    claimedId: string | null | undefined,
    paymentIntent: string | { id: string } | null | undefined,
  ): Promise<string | undefined> {
    if (claimedId) return findPurchaseId(db, claimedId);
    const pi = typeof paymentIntent === 'string' ? paymentIntent : paymentIntent?.id;
    if (!pi) return undefined;
    return findPurchaseIdByPaymentIntent(db, pi);
  }

  /**
   * The purchase a payment event is for, with its PaymentIntent tied to it. Named by the event, it is
   * found and tied in one statement; found by its PaymentIntent, it already has it.
   */
  async function paidPurchaseId(
    claimedId: string | null | undefined,
    paymentIntentId: string | null | undefined,
  ): Promise<string | undefined> {
    if (claimedId && paymentIntentId) return attachPaymentIntent(db, claimedId, paymentIntentId);
    return purchaseIdFor(claimedId, paymentIntentId);
  }

  async function start(purchaseId: string | undefined, paymentIntentId?: string | null): Promise<EventOutcome> {
    if (!purchaseId) return 'unknown_purchase';
    const outcome = (await workflows.start(purchaseId)) === 'running' ? 'started' : 'already_completed';
    if (paymentIntentId) await applyEarlyReversals(purchaseId, paymentIntentId);
    return outcome;
  }

  async function reverse(purchaseId: string, type: ChargeReversalEventType, eventId: string): Promise<EventOutcome> {
    const res = await workflows.abort(purchaseId, type === 'charge.refunded' ? 'refunded' : 'disputed', eventId);
    return res === 'clawback' ? 'clawback' : 'signalled';
  }

  /**
   * A refund or dispute that carries no purchase id and arrived before the payment event tied its
   * PaymentIntent to a purchase was stored as unknown_purchase. Once the PaymentIntent is attached,
   * act on it. Both sides write, then read (this after attaching; the reversal after storing its
   * outcome), so one of them always sees the other; acting twice is harmless, each action is
   * idempotent per event.
   */
  async function applyEarlyReversals(purchaseId: string, paymentIntentId: string): Promise<void> {
    for (const early of await unmatchedChargeReversals(db, paymentIntentId)) {
      const outcome = await reverse(purchaseId, early.type, early.id);
      await markWebhookEventProcessed(db, early.id, outcome, new Date());
      logger.info(
        { eventId: early.id, eventType: early.type, purchaseId, outcome },
        'stripe event that arrived before its payment acted on',
      );
    }
  }

  async function dispatch(event: Stripe.Event): Promise<EventOutcome> {
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded': {
        const session = event.data.object;
        if (session.payment_status === 'unpaid') return 'awaiting_async_payment';
        const paymentIntentId = typeof session.payment_intent === 'string' ? session.payment_intent : session.payment_intent?.id;
        return start(await paidPurchaseId(session.metadata?.purchase_id ?? session.client_reference_id, paymentIntentId), paymentIntentId);
      }
      case 'payment_intent.succeeded': {
        const pi = event.data.object;
        return start(await paidPurchaseId(pi.metadata.purchase_id, pi.id), pi.id);
      }
      case 'checkout.session.async_payment_failed': {
        const session = event.data.object;
        const id = await purchaseIdFor(session.metadata?.purchase_id ?? session.client_reference_id, session.payment_intent);
        if (!id) return 'unknown_purchase';
        return (await workflows.abort(id, 'payment_failed', event.id)) === 'signalled' ? 'signalled' : 'ignored';
      }
      case 'charge.refunded':
      case 'charge.dispute.created': {
        const obj = event.data.object;
        const id = await purchaseIdFor('metadata' in obj ? obj.metadata?.purchase_id : undefined, obj.payment_intent);
        if (id) return reverse(id, event.type, event.id);
        // Not matched yet: possibly delivered before the payment event (see applyEarlyReversals).
        const paymentIntentId = typeof obj.payment_intent === 'string' ? obj.payment_intent : obj.payment_intent?.id;
        if (!paymentIntentId) return 'unknown_purchase';
        await markWebhookEventProcessed(db, event.id, 'unknown_purchase', new Date());
        const late = await findPurchaseIdByPaymentIntent(db, paymentIntentId);
        return late ? reverse(late, event.type, event.id) : 'unknown_purchase';
      }
      default:
        if (event.type.startsWith('customer.subscription.') || event.type.startsWith('invoice.')) {
          return onSubscriptionEvent ? onSubscriptionEvent(event) : 'ignored';
        }
        return 'ignored';
    }
  }

  /** Act on one stored event; a failure leaves it to the poller after a backoff. */
  async function act(event: Stripe.Event, attempts: number): Promise<void> {
    try {
      const outcome = await dispatch(event);
      await markWebhookEventProcessed(db, event.id, outcome, new Date());
      onOutcome?.(event.type, outcome);
      logger.info({ eventId: event.id, eventType: event.type, outcome }, 'stripe event');
    } catch (err) {
      const delayMs = Math.min(opts.retryMs * 2 ** Math.max(attempts - 1, 0), opts.maxRetryMs);
      logger.warn(
        { eventId: event.id, eventType: event.type, attempts, retryInMs: delayMs, err: err instanceof Error ? err.message : String(err) },
        'stripe event not acted on yet; retried by the outbox',
      );
      // If this write fails too, the lease runs out and the poller takes the event anyway.
      await deferWebhookEvent(db, event.id, new Date(Date.now() + delayMs)).catch(() => undefined);
    }
  }

  // Events known to this process (queued or being acted on), so it never acts on one twice at once.
  const known = new Set<string>();
  const queue: { event: Stripe.Event; attempts: number }[] = [];
  let active = 0;
  let idleWaiters: (() => void)[] = [];

  function pump(): void {
    while (active < opts.concurrency && queue.length > 0) {
      const next = queue.shift();
      if (!next) break;
      active += 1;
      void act(next.event, next.attempts).finally(() => {
        active -= 1;
        known.delete(next.event.id);
        pump();
      });
    }
    if (active === 0 && queue.length === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  function enqueue(event: Stripe.Event, attempts: number): void {
    if (known.has(event.id)) return;
    known.add(event.id);
    queue.push({ event, attempts });
    pump();
  }

  /**
   * Claim the stored events whose lease or backoff has passed and act on them. `orphans` also takes
   * events still leased (a process that starts cannot tell its own dead predecessor's leases from a
   * live one's; acting twice is harmless).
   */
  async function poll(orphans: boolean): Promise<number> {
    const now = Date.now();
    const free = Math.max(opts.concurrency * 2 - queue.length - active, 0);
    if (free === 0) return 0;
    const rows = await claimDueWebhookEvents(db, {
      dueBefore: new Date(orphans ? now + opts.leaseMs : now),
      leaseUntil: new Date(now + opts.leaseMs),
      limit: free,
    });
    for (const r of rows) {
      if (isStoredEvent(r.payload)) enqueue(r.payload, r.attempts);
      else logger.error({ eventId: r.id }, 'stored stripe event has no id, type or data.object; not acted on');
    }
    return rows.length;
  }

  // Stored events not yet announced to the outbox; one announcement in flight at a time takes them all.
  let unannounced: string[] = [];
  let announcing: Promise<void> | undefined;

  /** Announce a stored event to whoever runs the outbox, after the acknowledgement, never holding it up. */
  function announce(eventId: string): void {
    unannounced.push(eventId);
    announcing ??= (async () => {
      while (unannounced.length > 0) {
        const eventIds = unannounced;
        unannounced = [];
        // Lost, the outbox's next poll (pollMs) still takes the events.
        await announceStoredWebhookEvents(db, eventIds).catch((err: unknown) =>
          logger.warn(
            { events: eventIds.length, err: err instanceof Error ? err.message : String(err) },
            'stored stripe events not announced',
          ),
        );
      }
      announcing = undefined;
    })();
  }

  async function idle(): Promise<void> {
    await announcing;
    if (active === 0 && queue.length === 0) return;
    await new Promise<void>((resolve) => idleWaiters.push(resolve));
  }

  return {
    /**
     * The webhook's part: store the event, then (with `actOnReceipt`) act on it in the background,
     * leased to this process. A duplicate of a processed event changes nothing; a duplicate of one not
     * yet acted on (an earlier delivery's actor may have died) is acted on again here, or is left to
     * the outbox once its lease or backoff passes.
     */
    async receive(event: Stripe.Event, rawBody: string): Promise<ReceiveOutcome> {
      const { stored, processed } = await storeWebhookEvent(
        db,
        event,
        rawBody,
        new Date(actOnReceipt ? Date.now() + opts.leaseMs : Date.now()),
      );
      if (processed) return 'duplicate';
      if (actOnReceipt) enqueue(event, 1);
      else if (stored) announce(event.id);
      return 'queued';
    },

    /** whether `receive` acts on new events in this process */
    actOnReceipt,

    /**
     * Poll the outbox every `pollMs` until the returned stop is called (which waits for the events
     * being acted on). The first poll takes orphans: events a dead predecessor had leased. With a
     * change feed it also looks at once when another process stores an event, and whenever the feed
     * may have missed one (it reconnected).
     */
    startOutbox(changes?: ChangeFeed): () => Promise<void> {
      let stopped = false;
      let polling = false;
      let again = false;
      let timer: NodeJS.Timeout | undefined;
      let current: Promise<unknown> = Promise.resolve();
      const tick = (orphans: boolean) => {
        clearTimeout(timer);
        polling = true;
        current = poll(orphans)
          .catch((err: unknown) => {
            logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'webhook outbox poll failed');
            return 0;
          })
          .then((claimed) => {
            polling = false;
            if (stopped) return;
            // A full claim means more may be due; a wake-up during the poll may have announced more.
            const soon = again || (claimed > 0 && active < opts.concurrency);
            again = false;
            timer = setTimeout(() => tick(orphans && claimed > 0), soon ? 0 : opts.pollMs);
          });
      };
      const wake = () => {
        if (stopped) return;
        if (polling) again = true;
        else tick(false);
      };
      const unsubscribe = changes?.subscribe(CHANGE_CHANNELS.webhookEventStored, {
        // An event this process stored and acts on already needs no poll.
        notify: (eventId) => {
          if (!known.has(eventId)) wake();
        },
        reset: wake,
      });
      tick(true);
      return async () => {
        stopped = true;
        unsubscribe?.();
        clearTimeout(timer);
        await current;
        await idle();
      };
    },

    /** Resolves once this process is acting on and announcing nothing (tests, shutdown). */
    idle,
  };
}

/** The stored payload is the verified body Stripe sent: an event with an id, a type and its object. */
function isStoredEvent(v: unknown): v is Stripe.Event {
  if (typeof v !== 'object' || v === null || !('id' in v) || !('type' in v) || !('data' in v)) return false;
  const { id, type, data } = v;
  return typeof id === 'string' && typeof type === 'string' && typeof data === 'object' && data !== null && 'object' in data;
}
