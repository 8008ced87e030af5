/**
 * The dev Stripe's Checkout page in headless Chromium (Debian's `chromium`, driven by playwright-core),
 * with the dev Stripe delivering its own signed webhooks to the engine: open the `checkoutUrl` a real
 * checkout returns, press a button, and the purchase goes where that card outcome takes it. Nothing
 * here delivers a webhook by hand. Skips, saying why, when Chromium or playwright-core is missing.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { createDevStripeClient, type DevStripeClient } from '../../dev/dev-stripe/client';
import { startDevStripe, type DevStripe } from '../../dev/dev-stripe/server';
import { freePort } from '../../dev/net';
import { chromiumSuite, launchChromium } from '../helpers/chromium';
import { startEngine, type Engine } from '../helpers/engine';

jest.setTimeout(180_000);

const { suite, executablePath } = chromiumSuite('checkout page');

suite('dev Stripe Checkout page in headless Chromium', () => {
  let engine: Engine;
  let devStripe: DevStripe;
  let client: DevStripeClient;
  let context: BrowserContext | undefined;
  let profile: string;
  /** The buyer's landing page behind the sessions' success_url (no frontend ships with the engine). */
  let frontend: http.Server;
  let frontendPort: number;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const devStripePort = await freePort();
    frontendPort = await freePort();
    engine = await startEngine({
      env: { STRIPE_API_BASE: `http://127.0.0.1:${devStripePort}`, PUBLIC_BASE_URL: `http://127.0.0.1:${frontendPort}` },
    });
    // A dev Stripe of this file's own, delivering to this engine (the shared one delivers nothing).
    devStripe = await startDevStripe({
      port: devStripePort,
      upstream: process.env.TEST_STRIPE_MOCK_BASE ?? '',
      stateFile: path.join(engine.config.dataDir, 'dev-stripe', 'state.jsonl'),
      webhooks: { url: `${engine.url}/webhooks/stripe`, secret: engine.config.STRIPE_WEBHOOK_SECRET },
    });
    client = createDevStripeClient(devStripe.url);
    frontend = http.createServer((req, res) => {
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(`<!doctype html><title>Purchase</title><h1 id="landing">${(req.url ?? '').replace(/[^\w/?=&-]/g, '')}</h1>`);
    });
    await new Promise<void>((resolve) => frontend.listen(frontendPort, '127.0.0.1', () => resolve()));
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'checkout-page-chromium-'));
    context = await launchChromium(executablePath, profile);
  });
  afterAll(async () => {
    await context?.close();
    await devStripe?.close();
    if (frontend?.listening) await new Promise((r) => frontend.close(r));
    await engine?.close();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });
  afterEach(() => {
    // The page runs under its strict CSP with no console errors (a blocked script or style would show here).
    expect(pageErrors.splice(0)).toEqual([]);
  });

  async function openCheckout(): Promise<{ purchaseId: string; checkoutSessionId: string; page: Page }> {
    const product = await engine.createProduct();
    const res = await engine.http('POST', '/api/checkout/sessions', {
      productId: product.id,
      buyerWallet: (await import('@solana/web3.js')).Keypair.generate().publicKey.toBase58(),
    });
    expect(res.status).toBe(201);
    const { purchaseId, checkoutSessionId, checkoutUrl } = (await res.json()) as {
      purchaseId: string;
      checkoutSessionId: string;
      checkoutUrl: string;
    };
    expect(checkoutUrl).toBe(`${devStripe.url}/checkout/${checkoutSessionId}`);
    const page = await (context as BrowserContext).newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const answer = await page.goto(checkoutUrl);
    expect(answer?.status()).toBe(200);
    expect(answer?.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(await page.locator('.line-item .name').textContent()).toBe('Test track');
    expect(await page.locator('#total').textContent()).toBe('$25.00');
    return { purchaseId, checkoutSessionId, page };
  }

  /** The dev Stripe's events about one session's PaymentIntent, in the order it made them. */
  function eventsFor(checkoutSessionId: string): { id: string; type: string }[] {
    const pi = devStripe.store.get('checkout.session', checkoutSessionId)?.payment_intent;
    return devStripe.store
      .all('event')
      .filter((e) => {
        const obj = (e.data as { object: { id: string; payment_intent?: unknown } }).object;
        return obj.id === pi || obj.id === checkoutSessionId || obj.payment_intent === pi;
      })
      .map((e) => ({ id: e.id, type: String(e.type) }));
  }

  it("Pay: redirects to the success_url and the purchase settles through the dev Stripe's own webhooks", async () => {
    const { purchaseId, checkoutSessionId, page } = await openCheckout();
    await page.locator('#pay').click();
    await page.waitForURL(`http://127.0.0.1:${frontendPort}/purchases/${purchaseId}?checkout=success`);

    const view = await engine.waitForStatus(purchaseId, ['settled', 'failed'], 120_000);
    expect(view).toMatchObject({ status: 'settled', grossCents: '2500', stripeFeeCents: '103', netCents: '2397' });
    const events = eventsFor(checkoutSessionId);
    expect(events.map((e) => e.type)).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
      'checkout.session.completed',
    ]);
    for (const e of events) expect((await client.delivered(e.id)).lastStatus).toBe(200);
    // Each one reached the engine's webhook route, was verified, stored and acted on.
    for (const e of events) await engine.outcome(e.id);
    const stored = await engine.db.webhookEvent.findMany({ where: { id: { in: events.map((e) => e.id) } } });
    expect(stored.map((s) => s.id).sort()).toEqual(events.map((e) => e.id).sort());
    expect(stored.every((s) => s.processedAt !== null)).toBe(true);
    await page.close();
  });

  it('Decline: the card is refused, the session stays open and the purchase unpaid', async () => {
    const { purchaseId, checkoutSessionId, page } = await openCheckout();
    await page.locator('#decline').click();
    await page.locator('#message.error').waitFor({ timeout: 30_000 });
    expect(await page.locator('#message').textContent()).toContain('declined');
    expect(await page.locator('#pay').isEnabled()).toBe(true);

    const events = eventsFor(checkoutSessionId);
    expect(events.map((e) => e.type)).toEqual(['payment_intent.created', 'charge.failed', 'payment_intent.payment_failed']);
    for (const e of events) expect((await client.delivered(e.id)).lastStatus).toBe(200);
    expect(await Promise.all(events.map((e) => engine.outcome(e.id)))).toEqual(['ignored', 'ignored', 'ignored']);
    expect((await engine.purchase(purchaseId)).status).toBe('pending_payment');
    expect(devStripe.store.get('checkout.session', checkoutSessionId)).toMatchObject({ status: 'open', payment_status: 'unpaid' });
    await page.close();
  });

  it('Pay, then refund: shows the done state when the success_url is not served, and the purchase ends refunded', async () => {
    await new Promise((r) => frontend.close(r)); // no frontend: the page shows its own done state
    const { purchaseId, checkoutSessionId, page } = await openCheckout();
    await page.locator('#pay-then-refund').click();
    await page.waitForURL(`${devStripe.url}/checkout/${checkoutSessionId}/return?refunded=1`);
    expect(await page.locator('#done h1').textContent()).toBe('Paid, then refunded');

    const view = await engine.waitForStatus(purchaseId, ['refunded', 'settled', 'failed'], 120_000);
    expect(view.status).toBe('refunded');
    const types = eventsFor(checkoutSessionId).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['checkout.session.completed', 'charge.refunded', 'refund.created']));
    await page.close();
  });
});
