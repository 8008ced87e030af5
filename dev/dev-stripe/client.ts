/**
 * Typed client for the dev Stripe's control surface (`/_dev/…`), for drivers and tests: what a buyer
 * does at the Checkout page (whose buttons call the same endpoints) and what a bank does later. Each
 * call answers the events Stripe sends for it, carrying the dev Stripe's own ids and amounts, ready to
 * be signed and delivered, unless the dev Stripe delivers them itself (`delivery` tells how that went).
 */
import type Stripe from 'stripe';

export interface DevPayment {
  checkoutSessionId: string;
  paymentIntentId: string;
  chargeId: string;
  balanceTransactionId: string;
  amountCents: bigint;
  feeCents: bigint;
  /** payment_intent.created, charge.succeeded, payment_intent.succeeded, checkout.session.completed */
  events: Stripe.Event[];
}

export interface DevDecline {
  paymentIntentId: string;
  chargeId: string;
  events: Stripe.Event[];
}

export interface DevRefund {
  refundId: string;
  amountCents: bigint;
  /** charge.refunded, refund.created */
  events: Stripe.Event[];
}

export interface DevDispute {
  disputeId: string;
  /** charge.dispute.created, charge.dispute.funds_withdrawn */
  events: Stripe.Event[];
}

/** The dev Stripe's own delivery of one event to its webhook endpoint. */
export interface DevWebhookDelivery {
  eventId: string;
  type: string;
  endpoint: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
}

export class DevStripeError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

interface Wire {
  session: { id: string };
  paymentIntent: { id: string; amount: number };
  charge: { id: string };
  balanceTransaction: { id: string; fee: number } | null;
  refund: { id: string; amount: number };
  dispute: { id: string };
  events: Stripe.Event[];
}

/** The one event of `type` among `events`; throws when there is none. */
export function eventOf(events: readonly Stripe.Event[], type: Stripe.Event['type']): Stripe.Event {
  const found = events.find((e) => e.type === type);
  if (!found) throw new Error(`no ${type} event among ${events.map((e) => e.type).join(', ')}`);
  return found;
}

export function createDevStripeClient(baseUrl: string) {
  async function request<T>(method: 'GET' | 'POST', path: string, body?: Record<string, string>): Promise<T> {
    const res = await fetch(
      `${baseUrl}/_dev${path}`,
      method === 'GET' ? {} : { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) },
    );
    const json = (await res.json()) as T & { error?: { code?: string; message: string } };
    if (!res.ok) throw new DevStripeError(res.status, json.error?.code, json.error?.message ?? `dev Stripe answered ${res.status}`);
    return json;
  }
  const call = (path: string, body: Record<string, string> = {}) => request<Partial<Wire>>('POST', path, body);
  const at = (created?: Date): Record<string, string> => (created ? { created: String(Math.floor(created.getTime() / 1000)) } : {});

  return {
    baseUrl,
    /** The buyer pays the session's amount by card; `created` backdates the payment (reconciliation tests). */
    async pay(checkoutSessionId: string, opts: { created?: Date } = {}): Promise<DevPayment> {
      const r = await call(`/checkout/sessions/${checkoutSessionId}/pay`, at(opts.created));
      if (!r.paymentIntent || !r.charge || !r.balanceTransaction || !r.events) throw new Error('dev Stripe: incomplete pay answer');
      return {
        checkoutSessionId,
        paymentIntentId: r.paymentIntent.id,
        chargeId: r.charge.id,
        balanceTransactionId: r.balanceTransaction.id,
        amountCents: BigInt(r.paymentIntent.amount),
        feeCents: BigInt(r.balanceTransaction.fee),
        events: r.events,
      };
    },
    /** The buyer's card is declined; the session stays open for another attempt. */
    async decline(checkoutSessionId: string): Promise<DevDecline> {
      const r = await call(`/checkout/sessions/${checkoutSessionId}/decline`);
      if (!r.paymentIntent || !r.charge || !r.events) throw new Error('dev Stripe: incomplete decline answer');
      return { paymentIntentId: r.paymentIntent.id, chargeId: r.charge.id, events: r.events };
    },
    /** A refund made in the Stripe dashboard: the full remaining amount unless `amountCents`. */
    async refund(paymentIntentId: string, opts: { amountCents?: bigint } = {}): Promise<DevRefund> {
      const r = await call(
        `/payment_intents/${paymentIntentId}/refund`,
        opts.amountCents === undefined ? {} : { amount: opts.amountCents.toString() },
      );
      if (!r.refund || !r.events) throw new Error('dev Stripe: incomplete refund answer');
      return { refundId: r.refund.id, amountCents: BigInt(r.refund.amount), events: r.events };
    },
    /** The cardholder's bank opens a chargeback on the whole charge. */
    async dispute(chargeId: string, opts: { reason?: string } = {}): Promise<DevDispute> {
      const r = await call(`/charges/${chargeId}/dispute`, opts.reason ? { reason: opts.reason } : {});
      if (!r.dispute || !r.events) throw new Error('dev Stripe: incomplete dispute answer');
      return { disputeId: r.dispute.id, events: r.events };
    },
    /** How the dev Stripe's own delivery of `eventId` stands; 404 `webhooks_not_configured` when it sends none. */
    delivery(eventId: string): Promise<DevWebhookDelivery> {
      return request<DevWebhookDelivery>('GET', `/webhook_deliveries/${eventId}`);
    },
    /** Wait until the dev Stripe has delivered `eventId` (throws when it gives up or `timeoutMs` passes). */
    async delivered(eventId: string, timeoutMs = 60_000): Promise<DevWebhookDelivery> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const d = await request<DevWebhookDelivery>('GET', `/webhook_deliveries/${eventId}`);
        if (d.status === 'delivered') return d;
        if (d.status === 'failed')
          throw new DevStripeError(
            502,
            'webhook_delivery_failed',
            `the dev Stripe gave up delivering ${d.type} ${eventId} after ${d.attempts} attempts: ${d.lastError ?? ''}`,
          );
        if (Date.now() > deadline)
          throw new DevStripeError(
            504,
            'webhook_delivery_pending',
            `${d.type} ${eventId} not delivered within ${timeoutMs} ms (${d.attempts} attempts; ${d.lastError ?? 'no answer yet'})`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

export type DevStripeClient = ReturnType<typeof createDevStripeClient>;
