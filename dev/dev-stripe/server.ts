/**
 * A stateful dev Stripe in front of stripe-mock. It owns the payment side of the API that the engine
 * uses — Checkout Sessions in `payment` mode, PaymentIntents, charges, balance transactions (with
 * Stripe's standard card fee), refunds, disputes and their events — and forwards every other request
 * (customers, prices, subscriptions, invoices, …) to stripe-mock unchanged. Objects start from
 * stripe-mock's own fixture for their type, so they carry every field of Stripe's OpenAPI shape.
 *
 * Besides Stripe's API it serves a small control surface under `/_dev/` for drivers and tests (pay,
 * decline, refund, dispute; see ./client.ts): that is where a buyer's card and a bank's chargeback
 * come from, which the real API has no endpoint for. A session's `url` is a hosted Checkout page
 * (./checkout-page.ts) whose buttons call that surface. Given a webhook endpoint, it also delivers
 * every event it produces there, signed and retried as Stripe does (./webhook-sender.ts); without
 * one, drivers deliver the events the control surface answers.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import qs from 'qs';
import {
  CHECKOUT_ASSET_PATH,
  CHECKOUT_CSP,
  CHECKOUT_CSS,
  CHECKOUT_FAVICON_SVG,
  CHECKOUT_JS,
  renderCheckoutPage,
  renderDonePage,
} from './checkout-page';
import { DevStripeStore, type LineItem, type OwnedKind, type StripeObject, type WebhookDelivery } from './store';
import { DEFAULT_RETRY_SCHEDULE, WebhookSender, type RetrySchedule, type WebhookEndpoint } from './webhook-sender';

/** Stripe's standard US card rate: 2.9% + 30¢, the percentage rounded half-up to a cent. */
export function cardFeeCents(amountCents: bigint): bigint {
  return (amountCents * 29n + 500n) / 1000n + 30n;
}

/** Stripe's fee for a dispute, withdrawn with the disputed amount. */
const DISPUTE_FEE_CENTS = 1500n;

/** The API version stamped on events: the one the engine's `stripe` SDK pins. */
const EVENT_API_VERSION = '2026-10-28.endive';

export interface DevStripeOptions {
  /** stripe-mock, which answers every request this server does not own */
  upstream: string;
  port?: number;
  host?: string;
  /** journal file; omitted means memory only */
  stateFile?: string;
  /** Deliver every event produced from now on (and any left undelivered in the journal) to this endpoint. */
  webhooks?: WebhookEndpoint & { retry?: Partial<RetrySchedule> };
  log?: (line: string) => void;
}

export interface DevStripe {
  url: string;
  store: DevStripeStore;
  /** Set when started with `webhooks`. */
  webhookSender: WebhookSender | undefined;
  close(): Promise<void>;
}

/** A delivery as `/_dev/webhook_deliveries` shows it. */
interface WebhookDeliveryView extends WebhookDelivery {
  type: string;
}

class StripeError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param?: string,
    readonly errorType = 'invalid_request_error',
  ) {
    super(message);
  }
}

const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;
const nowSec = () => Math.floor(Date.now() / 1000);

const TEMPLATE_PATHS: Record<Exclude<OwnedKind, 'event'> | 'event', string> = {
  'checkout.session': '/v1/checkout/sessions/cs_test_template',
  payment_intent: '/v1/payment_intents/pi_template',
  charge: '/v1/charges/ch_template',
  balance_transaction: '/v1/balance_transactions/txn_template',
  refund: '/v1/refunds/re_template',
  dispute: '/v1/disputes/dp_template',
  event: '/v1/events/evt_template',
};

async function fetchTemplates(upstream: string): Promise<Record<OwnedKind, StripeObject>> {
  const entries = await Promise.all(
    Object.entries(TEMPLATE_PATHS).map(async ([kind, p]) => {
      const res = await fetch(`${upstream}${p}`, { headers: { authorization: 'Bearer sk_test_123' } });
      if (!res.ok) throw new Error(`dev Stripe: stripe-mock answered ${res.status} for ${p}`);
      return [kind, (await res.json()) as StripeObject] as const;
    }),
  );
  return Object.fromEntries(entries) as Record<OwnedKind, StripeObject>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const rec = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const metadataOf = (v: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries(rec(v)).filter((e): e is [string, string] => typeof e[1] === 'string'));
const num = (o: StripeObject, k: string): number => (typeof o[k] === 'number' ? (o[k] as number) : 0);

function integerParam(value: unknown, param: string): bigint {
  if (typeof value !== 'string' || !/^\d+$/.test(value))
    throw new StripeError(400, 'parameter_invalid_integer', `Invalid integer: ${String(value)}`, param);
  return BigInt(value);
}

/** Whether something serves `url` (any answer below 400), within two seconds. */
async function reachable(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer().catch(() => undefined);
    return res.status < 400;
  } catch {
    return false;
  }
}

/** Stripe takes the secret key as a Bearer token or as the Basic-auth user name. */
function testModeKey(authorization: string | undefined): boolean {
  if (!authorization) return false;
  const [scheme, value = ''] = authorization.split(' ');
  const key = scheme === 'Basic' ? Buffer.from(value, 'base64').toString('utf8').split(':')[0] : scheme === 'Bearer' ? value : '';
  return /^sk_test_\w+$/.test(key ?? '');
}

export async function startDevStripe(opts: DevStripeOptions): Promise<DevStripe> {
  const upstream = new URL(opts.upstream);
  const templates = await fetchTemplates(opts.upstream);
  const store = DevStripeStore.open(opts.stateFile);
  const webhookSender = opts.webhooks
    ? new WebhookSender(store, opts.webhooks, { ...DEFAULT_RETRY_SCHEDULE, ...opts.webhooks.retry }, opts.log)
    : undefined;
  let baseUrl = '';

  const build = (kind: OwnedKind, fields: Record<string, unknown>): StripeObject => {
    const obj: StripeObject = { ...structuredClone(templates[kind]), ...fields, id: str(fields.id) ?? '', object: kind };
    return obj;
  };

  function event(type: string, object: StripeObject, created: number, previous?: Record<string, unknown>): StripeObject {
    const evt = store.put(
      build('event', {
        id: newId('evt'),
        api_version: EVENT_API_VERSION,
        created,
        data: { object: structuredClone(object), ...(previous ? { previous_attributes: previous } : {}) },
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        type,
      }),
    );
    webhookSender?.enqueue(evt);
    return evt;
  }

  function mustGet(kind: OwnedKind, id: string, param = 'id'): StripeObject {
    const obj = store.get(kind, id);
    if (!obj) throw new StripeError(404, 'resource_missing', `No such ${kind.replace('checkout.', 'checkout ')}: '${id}'`, param);
    return obj;
  }

  /** `expand[]` paths such as `latest_charge.balance_transaction`, on owned objects only. */
  function expand(obj: StripeObject, paths: string[]): StripeObject {
    const out: StripeObject = structuredClone(obj);
    for (const p of paths) {
      let cursor: Record<string, unknown> = out;
      for (const key of p.split('.')) {
        const value = cursor[key];
        if (typeof value === 'string') {
          const found = store.find(value);
          if (!found) break;
          cursor[key] = structuredClone(found);
        }
        const next = cursor[key];
        if (next === null || typeof next !== 'object') break;
        cursor = next as Record<string, unknown>;
      }
    }
    return out;
  }

  function createSession(body: Record<string, unknown>): StripeObject {
    const items = Array.isArray(body.line_items) ? body.line_items.map(rec) : [];
    if (items.length === 0) throw new StripeError(400, 'parameter_missing', 'Missing required param: line_items.', 'line_items');
    let total = 0n;
    let currency: string | undefined;
    const lineItems: LineItem[] = [];
    items.forEach((item, i) => {
      const priceData = rec(item.price_data);
      if (!item.price_data)
        throw new StripeError(
          400,
          'parameter_missing',
          'The dev Stripe prices payment-mode line items from price_data only.',
          `line_items[${i}][price_data]`,
        );
      const unit = integerParam(priceData.unit_amount, `line_items[${i}][price_data][unit_amount]`);
      const quantity = item.quantity === undefined ? 1n : integerParam(item.quantity, `line_items[${i}][quantity]`);
      const c = str(priceData.currency);
      if (!c)
        throw new StripeError(400, 'parameter_missing', 'Missing required param: currency.', `line_items[${i}][price_data][currency]`);
      if (currency && c !== currency)
        throw new StripeError(
          400,
          'parameter_invalid',
          'All line items must share one currency.',
          `line_items[${i}][price_data][currency]`,
        );
      currency = c;
      total += unit * quantity;
      lineItems.push({
        name: str(rec(priceData.product_data).name) ?? 'Item',
        quantity: Number(quantity),
        unitAmount: Number(unit),
        currency: c,
      });
    });
    const id = newId('cs_test');
    const created = nowSec();
    const session = store.put(
      build('checkout.session', {
        id,
        amount_subtotal: Number(total),
        amount_total: Number(total),
        cancel_url: str(body.cancel_url) ?? null,
        success_url: str(body.success_url) ?? null,
        client_reference_id: str(body.client_reference_id) ?? null,
        created,
        currency,
        currency_conversion: null,
        customer: null,
        customer_details: null,
        customer_email: null,
        expires_at: created + 24 * 3600,
        livemode: false,
        metadata: metadataOf(body.metadata),
        mode: 'payment',
        payment_intent: null,
        payment_status: 'unpaid',
        status: 'open',
        subscription: null,
        invoice: null,
        total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
        url: `${baseUrl}/checkout/${id}`,
      }),
    );
    store.putExtras(id, { paymentIntentMetadata: metadataOf(rec(body.payment_intent_data).metadata), lineItems });
    return session;
  }

  /** The buyer's card at the Checkout page: succeeds (`pay`) or is declined. */
  function attempt(sessionId: string, outcome: 'succeeded' | 'declined', created: number) {
    const session = mustGet('checkout.session', sessionId);
    if (session.status !== 'open')
      throw new StripeError(400, 'checkout_session_not_open', `Checkout session ${sessionId} is ${String(session.status)}.`);
    const amount = num(session, 'amount_total');
    const currency = str(session.currency) ?? 'usd';
    const metadata = store.getExtras(sessionId)?.paymentIntentMetadata ?? {};
    const events: StripeObject[] = [];
    let pi = str(session.payment_intent) ? store.get('payment_intent', String(session.payment_intent)) : undefined;
    if (!pi) {
      pi = store.put(
        build('payment_intent', {
          id: newId('pi'),
          amount,
          amount_capturable: 0,
          amount_received: 0,
          canceled_at: null,
          cancellation_reason: null,
          created,
          currency,
          customer: null,
          description: null,
          last_payment_error: null,
          latest_charge: null,
          livemode: false,
          metadata,
          status: 'requires_payment_method',
        }),
      );
      events.push(event('payment_intent.created', pi, created));
    }
    const chargeId = newId('ch');
    const common = {
      id: chargeId,
      amount,
      amount_refunded: 0,
      created,
      currency,
      customer: null,
      description: null,
      disputed: false,
      livemode: false,
      metadata,
      payment_intent: pi.id,
      refunded: false,
    };
    if (outcome === 'declined') {
      const charge = store.put(
        build('charge', {
          ...common,
          amount_captured: 0,
          balance_transaction: null,
          captured: false,
          paid: false,
          status: 'failed',
          failure_code: 'card_declined',
          failure_message: 'Your card was declined.',
        }),
      );
      pi = store.put({
        ...pi,
        latest_charge: chargeId,
        status: 'requires_payment_method',
        last_payment_error: {
          type: 'card_error',
          code: 'card_declined',
          decline_code: 'generic_decline',
          message: 'Your card was declined.',
          charge: chargeId,
        },
      });
      store.put({ ...session, payment_intent: pi.id });
      events.push(event('charge.failed', charge, created), event('payment_intent.payment_failed', pi, created));
      return {
        session: store.get('checkout.session', sessionId) as StripeObject,
        paymentIntent: pi,
        charge,
        balanceTransaction: null,
        events,
      };
    }
    const fee = Number(cardFeeCents(BigInt(amount)));
    const txn = store.put(
      build('balance_transaction', {
        id: newId('txn'),
        amount,
        available_on: created + 2 * 86_400,
        created,
        currency,
        description: null,
        exchange_rate: null,
        fee,
        fee_details: [{ amount: fee, application: null, currency, description: 'Stripe processing fees', type: 'stripe_fee' }],
        net: amount - fee,
        reporting_category: 'charge',
        source: chargeId,
        status: 'pending',
        type: 'charge',
      }),
    );
    const charge = store.put(
      build('charge', {
        ...common,
        amount_captured: amount,
        balance_transaction: txn.id,
        captured: true,
        paid: true,
        status: 'succeeded',
        failure_code: null,
        failure_message: null,
      }),
    );
    pi = store.put({ ...pi, amount_received: amount, latest_charge: chargeId, status: 'succeeded', last_payment_error: null });
    const completed = store.put({ ...session, payment_intent: pi.id, payment_status: 'paid', status: 'complete' });
    events.push(
      event('charge.succeeded', charge, created),
      event('payment_intent.succeeded', pi, created),
      event('checkout.session.completed', completed, created),
    );
    return { session: completed, paymentIntent: pi, charge, balanceTransaction: txn, events };
  }

  function refund(body: Record<string, unknown>, created: number) {
    const piId = str(body.payment_intent);
    const chargeParam = str(body.charge);
    if (!piId && !chargeParam)
      throw new StripeError(400, 'parameter_missing', 'One of payment_intent or charge is required.', 'payment_intent');
    const pi = piId ? mustGet('payment_intent', piId, 'payment_intent') : undefined;
    const chargeId = chargeParam ?? str(pi?.latest_charge);
    const charge = chargeId ? store.get('charge', chargeId) : undefined;
    if (!charge || charge.status !== 'succeeded')
      throw new StripeError(
        400,
        'charge_not_refundable',
        `This PaymentIntent (${piId ?? chargeParam}) does not have a successful charge to refund.`,
      );
    const remaining = num(charge, 'amount') - num(charge, 'amount_refunded');
    if (remaining === 0) throw new StripeError(400, 'charge_already_refunded', `Charge ${charge.id} has already been refunded.`);
    const amount = body.amount === undefined ? remaining : Number(integerParam(body.amount, 'amount'));
    if (amount <= 0 || amount > remaining)
      throw new StripeError(
        400,
        'amount_too_large',
        `Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining}).`,
        'amount',
      );
    const currency = str(charge.currency) ?? 'usd';
    const refundId = newId('re');
    const txn = store.put(
      build('balance_transaction', {
        id: newId('txn'),
        amount: -amount,
        available_on: created,
        created,
        currency,
        description: 'REFUND FOR CHARGE',
        exchange_rate: null,
        fee: 0,
        fee_details: [],
        net: -amount,
        reporting_category: 'refund',
        source: refundId,
        status: 'available',
        type: 'refund',
      }),
    );
    const reason = str(body.reason) ?? null;
    const re = store.put(
      build('refund', {
        id: refundId,
        amount,
        balance_transaction: txn.id,
        charge: charge.id,
        created,
        currency,
        metadata: metadataOf(body.metadata),
        payment_intent: str(charge.payment_intent) ?? null,
        reason,
        status: 'succeeded',
      }),
    );
    const refunded = num(charge, 'amount_refunded') + amount;
    const updated = store.put({ ...charge, amount_refunded: refunded, refunded: refunded === num(charge, 'amount') });
    const events = [
      event('charge.refunded', updated, created, { amount_refunded: charge.amount_refunded, refunded: charge.refunded }),
      event('refund.created', re, created),
    ];
    return { refund: re, charge: updated, events };
  }

  function dispute(chargeId: string, reason: string, created: number) {
    const charge = mustGet('charge', chargeId);
    if (charge.status !== 'succeeded') throw new StripeError(400, 'charge_not_disputable', `Charge ${chargeId} did not succeed.`);
    if (charge.disputed === true) throw new StripeError(400, 'charge_disputed', `Charge ${chargeId} is already disputed.`);
    const amount = num(charge, 'amount');
    const currency = str(charge.currency) ?? 'usd';
    const disputeId = newId('dp');
    const fee = Number(DISPUTE_FEE_CENTS);
    const txn = store.put(
      build('balance_transaction', {
        id: newId('txn'),
        amount: -amount,
        available_on: created,
        created,
        currency,
        description: `Chargeback withdrawal for ${chargeId}`,
        exchange_rate: null,
        fee,
        fee_details: [{ amount: fee, application: null, currency, description: 'Dispute fee', type: 'stripe_fee' }],
        net: -amount - fee,
        reporting_category: 'dispute',
        source: disputeId,
        status: 'available',
        type: 'adjustment',
      }),
    );
    const dp = store.put(
      build('dispute', {
        id: disputeId,
        amount,
        balance_transactions: [txn],
        charge: chargeId,
        created,
        currency,
        is_charge_refundable: false,
        livemode: false,
        metadata: {},
        payment_intent: str(charge.payment_intent) ?? null,
        reason,
        status: 'needs_response',
      }),
    );
    store.put({ ...charge, disputed: true });
    return { dispute: dp, events: [event('charge.dispute.created', dp, created), event('charge.dispute.funds_withdrawn', dp, created)] };
  }

  function listBalanceTransactions(query: Record<string, unknown>) {
    const created = rec(query.created);
    const bound = (k: string) => (str(created[k]) === undefined ? undefined : Number(integerParam(created[k], `created[${k}]`)));
    const exact = str(query.created) === undefined ? undefined : Number(integerParam(query.created, 'created'));
    const [gte, gt, lte, lt] = [bound('gte'), bound('gt'), bound('lte'), bound('lt')];
    const limit = query.limit === undefined ? 10 : Number(integerParam(query.limit, 'limit'));
    if (limit < 1 || limit > 100) throw new StripeError(400, 'parameter_invalid_integer', 'limit must be between 1 and 100.', 'limit');
    const type = str(query.type);
    const source = str(query.source);
    let rows = store
      .all('balance_transaction')
      .map((t, i) => ({ t, i }))
      .filter(({ t }) => {
        const c = num(t, 'created');
        return (
          (exact === undefined || c === exact) &&
          (gte === undefined || c >= gte) &&
          (gt === undefined || c > gt) &&
          (lte === undefined || c <= lte) &&
          (lt === undefined || c < lt) &&
          (type === undefined || t.type === type) &&
          (source === undefined || t.source === source)
        );
      });
    // Newest first, as Stripe lists; insertion order breaks ties within a second.
    rows.sort((a, b) => num(b.t, 'created') - num(a.t, 'created') || b.i - a.i);
    const after = str(query.starting_after);
    const before = str(query.ending_before);
    if (after) rows = rows.slice(rows.findIndex(({ t }) => t.id === after) + 1);
    if (before) {
      const at = rows.findIndex(({ t }) => t.id === before);
      rows = at < 0 ? [] : rows.slice(Math.max(0, at - limit), at);
    }
    const page = rows.slice(0, limit).map(({ t }) => t);
    const paths = Array.isArray(query.expand)
      ? query.expand.filter((e): e is string => typeof e === 'string').map((e) => e.replace(/^data\./, ''))
      : [];
    return { object: 'list', data: page.map((t) => expand(t, paths)), has_more: rows.length > limit, url: '/v1/balance_transactions' };
  }

  function deliveries(eventId: string | undefined): { data: WebhookDeliveryView[] } | WebhookDeliveryView {
    if (!webhookSender)
      throw new StripeError(
        404,
        'webhooks_not_configured',
        'This dev Stripe delivers no webhooks: start it with a webhook endpoint (--webhook-url; npm start does).',
      );
    const view = (d: WebhookDelivery): WebhookDeliveryView => ({ ...d, type: String(store.get('event', d.eventId)?.type ?? '') });
    if (!eventId) return { data: store.deliveries().map(view) };
    const found = store.delivery(eventId);
    if (!found) throw new StripeError(404, 'resource_missing', `No webhook delivery for event '${eventId}'.`, 'id');
    return view(found);
  }

  /** The hosted Checkout page and its assets; true when this request was one of them. */
  async function checkoutPage(method: string, segments: string[], url: URL, res: http.ServerResponse): Promise<boolean> {
    if (segments[0] !== 'checkout' || method !== 'GET') return false;
    const html = (status: number, body: string) => {
      res.writeHead(status, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': CHECKOUT_CSP,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      });
      res.end(body);
    };
    if (`/${segments.slice(0, 2).join('/')}` === CHECKOUT_ASSET_PATH && segments.length === 3) {
      const assets: Record<string, { type: string; body: string }> = {
        'checkout.js': { type: 'text/javascript', body: CHECKOUT_JS },
        'checkout.css': { type: 'text/css', body: CHECKOUT_CSS },
        'favicon.svg': { type: 'image/svg+xml', body: CHECKOUT_FAVICON_SVG },
      };
      const asset = assets[segments[2] ?? ''];
      if (!asset) return false;
      res.writeHead(200, { 'content-type': `${asset.type}; charset=utf-8`, 'x-content-type-options': 'nosniff' });
      res.end(asset.body);
      return true;
    }
    const sessionId = segments[1];
    const session = sessionId ? store.get('checkout.session', sessionId) : undefined;
    if (!sessionId || segments.length > 3 || (segments.length === 3 && segments[2] !== 'return')) return false;
    if (!session) {
      html(404, '<!doctype html><title>Not found</title><p>No such checkout session.</p>');
      return true;
    }
    if (segments.length === 2 || session.status !== 'complete') {
      if (segments.length === 3) {
        res.writeHead(303, { location: `/checkout/${sessionId}` });
        res.end();
      } else {
        html(200, renderCheckoutPage(session, store.getExtras(sessionId)?.lineItems ?? []));
      }
      return true;
    }
    // Stripe sends the buyer on to success_url; here that page may not exist (no frontend runs locally).
    const successUrl = str(session.success_url);
    if (successUrl && (await reachable(successUrl))) {
      res.writeHead(303, { location: successUrl });
      res.end();
      return true;
    }
    html(200, renderDonePage(session, url.searchParams.get('refunded') === '1'));
    return true;
  }

  const OWNED_GET: Record<string, OwnedKind> = {
    payment_intents: 'payment_intent',
    charges: 'charge',
    balance_transactions: 'balance_transaction',
    refunds: 'refund',
    disputes: 'dispute',
    events: 'event',
  };

  /** The request if this server owns it, else undefined (forward to stripe-mock). */
  function route(
    method: string,
    segments: string[],
    query: Record<string, unknown>,
    body: Record<string, unknown>,
  ): (() => unknown) | undefined {
    const expandPaths = [query.expand, body.expand].flatMap((e) =>
      Array.isArray(e) ? e.filter((x): x is string => typeof x === 'string') : [],
    );
    const [v1, resource, id, action] = segments;
    if (v1 === '_dev') {
      const created = body.created === undefined ? nowSec() : Number(integerParam(body.created, 'created'));
      if (
        method === 'POST' &&
        resource === 'checkout' &&
        segments[2] === 'sessions' &&
        segments[3] &&
        (segments[4] === 'pay' || segments[4] === 'decline')
      ) {
        const sessionId = segments[3];
        return () => attempt(sessionId, segments[4] === 'pay' ? 'succeeded' : 'declined', created);
      }
      if (method === 'POST' && resource === 'payment_intents' && id && action === 'refund')
        return () => refund({ ...body, payment_intent: id }, created);
      if (method === 'POST' && resource === 'charges' && id && action === 'dispute')
        return () => dispute(id, str(body.reason) ?? 'fraudulent', created);
      if (method === 'GET' && resource === 'webhook_deliveries') return () => deliveries(id);
      return () => {
        throw new StripeError(404, 'unknown_dev_route', `Unrecognized dev request URL (${method}: /${segments.join('/')}).`);
      };
    }
    if (v1 !== 'v1') return undefined;
    if (resource === 'checkout' && id === 'sessions') {
      const sessionId = segments[3];
      if (method === 'POST' && !sessionId && body.mode === 'payment') return () => createSession(body);
      if (sessionId && store.get('checkout.session', sessionId)) {
        if (method === 'GET' && !segments[4]) return () => expand(mustGet('checkout.session', sessionId), expandPaths);
        if (method === 'POST' && segments[4] === 'expire') {
          return () => {
            const s = mustGet('checkout.session', sessionId);
            if (s.status !== 'open')
              throw new StripeError(400, 'checkout_session_not_open', `Only Checkout Sessions with a status in [open] can be expired.`);
            return store.put({ ...s, status: 'expired' });
          };
        }
      }
      return undefined;
    }
    if (method === 'POST' && resource === 'refunds' && !id) return () => expand(refund(body, nowSec()).refund, expandPaths);
    if (method === 'GET' && resource === 'balance_transactions' && !id) return () => listBalanceTransactions(query);
    const kind = resource ? OWNED_GET[resource] : undefined;
    if (method === 'GET' && kind && id && !action) return () => expand(mustGet(kind, id), expandPaths);
    return undefined;
  }

  function forward(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): void {
    const headers = { ...req.headers, host: upstream.host, 'content-length': String(raw.length) };
    const up = http.request({ hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { type: 'api_error', message: `stripe-mock unreachable: ${err.message}` } }));
    });
    up.end(raw);
  }

  const send = (res: http.ServerResponse, status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': newId('req') });
    res.end(body);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch((err: unknown) => {
        if (!res.headersSent)
          send(
            res,
            500,
            JSON.stringify({ error: { type: 'api_error', message: `dev Stripe: ${err instanceof Error ? err.message : String(err)}` } }),
          );
        else res.end();
      });
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dev-stripe');
    const method = req.method ?? 'GET';
    const segments = url.pathname.split('/').filter(Boolean);
    if (await checkoutPage(method, segments, url, res)) return;
    const query = qs.parse(url.search.slice(1));
    const text = raw.toString('utf8');
    let body: Record<string, unknown>;
    try {
      body = req.headers['content-type']?.includes('application/json') ? rec(text ? JSON.parse(text) : {}) : qs.parse(text);
    } catch {
      return send(res, 400, JSON.stringify({ error: { type: 'invalid_request_error', message: 'Invalid request body.' } }));
    }
    const handler = route(method, segments, query, body);
    if (!handler) return forward(req, res, raw);
    if (segments[0] === 'v1' && !testModeKey(req.headers.authorization)) {
      return send(
        res,
        401,
        JSON.stringify({
          error: {
            type: 'invalid_request_error',
            message: 'Invalid API Key provided: the dev Stripe takes test-mode secret keys (sk_test_…).',
          },
        }),
      );
    }
    const idemKey = method === 'POST' && segments[0] === 'v1' ? req.headers['idempotency-key'] : undefined;
    const key = typeof idemKey === 'string' ? idemKey : undefined;
    const fingerprint = `${method} ${url.pathname} ${text}`;
    if (key) {
      const seen = store.idempotent(key);
      if (seen && seen.fingerprint !== fingerprint) {
        return send(
          res,
          400,
          JSON.stringify({
            error: {
              type: 'idempotency_error',
              message: `Keys for idempotent requests can only be used with the same parameters they were first used with.`,
            },
          }),
        );
      }
      if (seen) return send(res, seen.status, seen.body);
    }
    let status = 200;
    let out: string;
    try {
      out = JSON.stringify(handler());
    } catch (err) {
      if (!(err instanceof StripeError)) {
        store.flush();
        return send(res, 500, JSON.stringify({ error: { type: 'api_error', message: `dev Stripe: ${(err as Error).message}` } }));
      }
      status = err.status;
      out = JSON.stringify({
        error: { type: err.errorType, code: err.code, message: err.message, ...(err.param ? { param: err.param } : {}) },
      });
    }
    // Stripe replays 4xx answers to a key as well (never 5xx, which are retried for real).
    if (key) store.rememberIdempotent(key, { fingerprint, status, body: out });
    store.flush();
    send(res, status, out);
  }
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  baseUrl = `http://${opts.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
  webhookSender?.start();
  return {
    url: baseUrl,
    store,
    webhookSender,
    close: async () => {
      await webhookSender?.stop();
      await new Promise<void>((resolve) => {
        store.flush();
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
