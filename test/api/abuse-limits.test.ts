/**
 * Abuse limits, admin security headers and request ids, through HTTP against the engine's API:
 * checkouts over the per-client limit get a typed 429 and create no Stripe session and no row;
 * failed admin authentications are limited per client; /admin carries helmet's headers with a CSP
 * that allows exactly the page's inline style; every response and log line carries a request id.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import express from 'express';
import { Keypair } from '@solana/web3.js';
import { createLogger } from '../../src/logger';
import { REQUEST_ID_HEADER, requestId } from '../../src/api/request-id';
import { startEngine, type Engine } from '../helpers/engine';

const CHECKOUT_LIMIT = 5;
const AUTH_FAILURE_LIMIT = 3;

let engine: Engine;
let productId: string;

beforeAll(async () => {
  engine = await startEngine({
    env: {
      CHECKOUT_RATE_LIMIT: String(CHECKOUT_LIMIT),
      ADMIN_AUTH_FAILURE_LIMIT: String(AUTH_FAILURE_LIMIT),
      RATE_LIMIT_WINDOW: '10 minutes',
    },
  });
  productId = (await engine.createProduct()).id;
});
afterAll(async () => {
  jest.restoreAllMocks();
  await engine?.close();
});

const checkout = (headers: Record<string, string> = {}) =>
  engine.http('POST', '/api/checkout/sessions', { productId, buyerWallet: Keypair.generate().publicKey.toBase58() }, headers);

it('20 rapid checkouts from one client: those over the limit get 429 and create no Stripe session and no row', async () => {
  // Counts the calls that reach Stripe (stripe-mock answers them); every Stripe client shares the resource prototype.
  const sessionsResource = Object.getPrototypeOf(engine.stripe.checkout.sessions) as { create: (...args: unknown[]) => unknown };
  const createSession = jest.spyOn(sessionsResource, 'create');
  const rowsBefore = await engine.db.purchase.count();

  const responses = await Promise.all(Array.from({ length: 20 }, () => checkout()));
  const statuses = responses.map((r) => r.status);
  expect(statuses.filter((s) => s === 201)).toHaveLength(CHECKOUT_LIMIT);
  expect(statuses.filter((s) => s === 429)).toHaveLength(20 - CHECKOUT_LIMIT);

  const blocked = responses.filter((r) => r.status === 429);
  for (const res of blocked) {
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('rate_limited');
  }
  for (const res of responses.filter((r) => r.status === 201)) await res.body?.cancel();

  expect(createSession).toHaveBeenCalledTimes(CHECKOUT_LIMIT);
  expect(await engine.db.purchase.count()).toBe(rowsBefore + CHECKOUT_LIMIT);
  createSession.mockRestore();

  // The limit is per client: another address (through the trusted loopback proxy) still gets through.
  const other = await checkout({ 'x-forwarded-for': '203.0.113.7' });
  expect(other.status).toBe(201);
});

it('failed admin authentications are limited per client, then even the right token waits', async () => {
  const attacker = { 'x-forwarded-for': '198.51.100.9' };
  for (let i = 0; i < AUTH_FAILURE_LIMIT; i++) {
    const res = await engine.http('GET', '/admin/products', undefined, { ...attacker, authorization: `Bearer wrong-${i}` });
    expect(res.status).toBe(401);
  }
  const blocked = await engine.http('GET', '/admin/products', undefined, { ...attacker, authorization: 'Bearer wrong-again' });
  expect(blocked.status).toBe(429);
  expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(((await blocked.json()) as { error: { type: string } }).error.type).toBe('rate_limited');
  expect((await engine.http('GET', '/admin/products', undefined, { ...attacker, ...engine.adminHeaders })).status).toBe(429);

  // Successful authentications do not count, and other clients are not affected.
  for (let i = 0; i < AUTH_FAILURE_LIMIT + 2; i++) {
    expect((await engine.http('GET', '/admin/products', undefined, engine.adminHeaders)).status).toBe(200);
  }
});

it('/admin carries helmet headers and a CSP that allows exactly the page inline style', async () => {
  const res = await engine.http('GET', '/admin');
  expect(res.status).toBe(200);
  const html = await res.text();
  const csp = res.headers.get('content-security-policy') ?? '';
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
  expect(style.length).toBeGreaterThan(0);
  const hash = createHash('sha256').update(style, 'utf8').digest('base64');
  expect(csp).toContain(`style-src 'sha256-${hash}'`);
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain('unsafe-inline');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  // the API routes under /admin too
  const api = await engine.http('GET', '/admin/products', undefined, engine.adminHeaders);
  expect(api.headers.get('content-security-policy')).toBe(csp);
});

it('every response carries X-Request-Id; a plain incoming one is kept, anything else replaced', async () => {
  const generated = await engine.http('GET', '/healthz');
  expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  const notFound = await engine.http('GET', '/no-such-route');
  expect(notFound.status).toBe(404);
  expect(notFound.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

  const kept = await engine.http('GET', '/healthz', undefined, { 'x-request-id': 'lb-7f3a.2:abc' });
  expect(kept.headers.get('x-request-id')).toBe('lb-7f3a.2:abc');
  for (const bad of ['has spaces in it', 'x'.repeat(129), '{"json":1}']) {
    const res = await engine.http('GET', '/healthz', undefined, { 'x-request-id': bad });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  }
});

it('every log line written while serving a request carries its request id', async () => {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level: 'info', name: 'request-id-test', destination });
  const app = express();
  app.use(requestId());
  app.get('/work', async (_req, res) => {
    logger.info('before the await');
    await new Promise((resolve) => setTimeout(resolve, 5));
    logger.info('after the await');
    res.json({ ok: true });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const [a, b] = await Promise.all([
      fetch(`http://127.0.0.1:${port}/work`, { headers: { [REQUEST_ID_HEADER]: 'req-a' } }),
      fetch(`http://127.0.0.1:${port}/work`),
    ]);
    const idB = b.headers.get('x-request-id');
    expect(a.headers.get('x-request-id')).toBe('req-a');
    logger.info('outside any request');
    expect(lines.filter((l) => l.requestId === 'req-a').map((l) => l.msg)).toEqual(['before the await', 'after the await']);
    expect(lines.filter((l) => l.requestId === idB).map((l) => l.msg)).toEqual(['before the await', 'after the await']);
    expect(lines.find((l) => l.msg === 'outside any request')).not.toHaveProperty('requestId');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
