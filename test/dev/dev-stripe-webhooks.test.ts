/**
 * The dev Stripe's own webhook delivery against a real HTTP endpoint that checks each signature with
 * the engine's `stripe` SDK: retried with growing waits while the endpoint answers 500 or is down,
 * delivered once it recovers, bounded, journalled across a restart, and off unless configured.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import Stripe from 'stripe';
import { createDevStripeClient, DevStripeError, type DevStripeClient } from '../../dev/dev-stripe/client';
import { startDevStripe, type DevStripe } from '../../dev/dev-stripe/server';
import { freePort } from '../../dev/net';

const SECRET = 'whsec_dev_stripe_webhook_test';
const upstream = process.env.TEST_STRIPE_MOCK_BASE ?? '';
const dir = path.join(process.env.TEST_TMP_DIR ?? '/tmp', `dev-stripe-webhooks-${process.pid}`);
const verifier = new Stripe('sk_test_123');
const FAST = { initialDelayMs: 100, factor: 2, maxDelayMs: 800, maxAttempts: 6, timeoutMs: 2_000 };

interface Received {
  at: number;
  eventId: string;
  type: string;
  status: number;
}

/** A webhook endpoint that answers `answer()` to every correctly signed delivery and 400 to the rest. */
async function startEndpoint(port = 0, answer: (n: number) => number = () => 200) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let event: Stripe.Event;
      try {
        event = verifier.webhooks.constructEvent(Buffer.concat(chunks), String(req.headers['stripe-signature']), SECRET, 300);
      } catch {
        res.writeHead(400).end();
        return;
      }
      const status = answer(received.length);
      received.push({ at: Date.now(), eventId: event.id, type: event.type, status });
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/stripe`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function openSession(devStripe: DevStripe): Promise<string> {
  const u = new URL(devStripe.url);
  const stripe = new Stripe('sk_test_123', { host: u.hostname, port: Number(u.port), protocol: 'http', maxNetworkRetries: 0 });
  const session = await stripe.checkout.sessions.create({
    mode: 'payment',
    line_items: [{ quantity: 1, price_data: { currency: 'usd', unit_amount: 2500, product_data: { name: 'Webhook track' } } }],
    success_url: 'http://127.0.0.1:9/success',
  });
  return session.id;
}

async function until<T>(what: string, fn: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what} not reached in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const running: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.close();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function devStripeWith(
  webhooks: Parameters<typeof startDevStripe>[0]['webhooks'],
  stateFile?: string,
): Promise<{ devStripe: DevStripe; client: DevStripeClient }> {
  const devStripe = await startDevStripe({ upstream, stateFile, webhooks });
  running.push(devStripe);
  return { devStripe, client: createDevStripeClient(devStripe.url) };
}

it('retries with growing waits while the endpoint answers 500, then delivers every event once', async () => {
  let healthy = false;
  const endpoint = await startEndpoint(0, () => (healthy ? 200 : 500));
  running.push(endpoint);
  const { devStripe, client } = await devStripeWith({ url: endpoint.url, secret: SECRET, retry: FAST });
  const paid = await client.pay(await openSession(devStripe));
  const ids = paid.events.map((e) => e.id);
  expect(paid.events.map((e) => e.type)).toEqual([
    'payment_intent.created',
    'charge.succeeded',
    'payment_intent.succeeded',
    'checkout.session.completed',
  ]);
  const first = () => endpoint.received.filter((r) => r.eventId === ids[0]);
  // The endpoint recovers after the first event's fourth failed attempt.
  await until('four failed attempts', () => (first().length >= 4 ? true : undefined));
  healthy = true;

  for (const id of ids) expect(await client.delivered(id, 20_000)).toMatchObject({ status: 'delivered', lastStatus: 200 });
  expect(first().map((r) => r.status)).toEqual([500, 500, 500, 500, 200]);
  expect((await client.delivery(ids[0] ?? '')).attempts).toBe(5);
  // Waits of 100, 200, 400, 800 ms between the attempts (each at least its schedule, less timer slack).
  const gaps = first()
    .slice(1)
    .map((r, i) => r.at - (first()[i]?.at ?? 0));
  [100, 200, 400, 800].forEach((min, i) => expect(gaps[i]).toBeGreaterThanOrEqual(min - 20));
  // Every event was refused at least once and accepted exactly once.
  for (const id of ids) {
    const statuses = endpoint.received.filter((r) => r.eventId === id).map((r) => r.status);
    expect(statuses[0]).toBe(500);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.at(-1)).toBe(200);
  }
});

it('gives up after the last attempt of its bounded schedule', async () => {
  const endpoint = await startEndpoint(0, () => 500);
  running.push(endpoint);
  const { devStripe, client } = await devStripeWith({ url: endpoint.url, secret: SECRET, retry: { ...FAST, maxAttempts: 3 } });
  const declined = await client.decline(await openSession(devStripe));
  const id = declined.events[0]?.id ?? '';
  await expect(client.delivered(id, 20_000)).rejects.toMatchObject({ code: 'webhook_delivery_failed' });
  const tries = endpoint.received.filter((r) => r.eventId === id).length;
  await new Promise((r) => setTimeout(r, 1_000));
  expect(endpoint.received.filter((r) => r.eventId === id)).toHaveLength(tries);
  expect(tries).toBe(3);
  expect(await client.delivery(id)).toMatchObject({ status: 'failed', attempts: 3, lastStatus: 500 });
});

it('keeps undelivered events in its journal across a restart and sends them once the endpoint is up', async () => {
  const stateFile = path.join(dir, 'restart', 'state.jsonl');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/webhooks/stripe`; // nothing listens yet: connection refused
  let { devStripe, client } = await devStripeWith({ url, secret: SECRET, retry: { ...FAST, maxAttempts: 50 } }, stateFile);
  const paid = await client.pay(await openSession(devStripe));
  await until('a refused attempt', () => (devStripe.store.delivery(paid.events[0]?.id ?? '')?.attempts ?? 0) >= 1 || undefined);
  expect((await client.delivery(paid.events[0]?.id ?? '')).lastError).toMatch(/ECONNREFUSED/);
  await devStripe.close();
  running.splice(running.indexOf(devStripe), 1);

  const endpoint = await startEndpoint(port);
  running.push(endpoint);
  ({ devStripe, client } = await devStripeWith({ url, secret: SECRET, retry: { ...FAST, maxAttempts: 50 } }, stateFile));
  for (const e of paid.events) expect((await client.delivered(e.id, 20_000)).status).toBe('delivered');
  expect(endpoint.received.map((r) => r.eventId).sort()).toEqual(paid.events.map((e) => e.id).sort());
});

it('sends nothing unless given an endpoint, and says so', async () => {
  const { devStripe, client } = await devStripeWith(undefined);
  const paid = await client.pay(await openSession(devStripe));
  expect(devStripe.webhookSender).toBeUndefined();
  expect(devStripe.store.deliveries()).toEqual([]);
  const err = await client.delivery(paid.events[0]?.id ?? '').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DevStripeError);
  expect(err).toMatchObject({ status: 404, code: 'webhooks_not_configured' });
});
