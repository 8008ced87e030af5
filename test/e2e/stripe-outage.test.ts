/**
 * Stripe answering 500s: the SDK's own retries and then Temporal's activity retries carry the fee
 * capture through the outage; the purchase settles once, with the real fee.
 */
import { startEngine, type Engine } from '../helpers/engine';
import { startFaultProxy, type FaultProxy } from '../../dev/chaos/fault-proxy';

let engine: Engine;
let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxy({ target: process.env.TEST_STRIPE_API_BASE ?? '', errorStatus: 500 });
  engine = await startEngine({ env: { STRIPE_API_BASE: proxy.url } });
});
afterAll(async () => {
  await engine?.close();
  await proxy?.close();
});

it('a Stripe outage during fee capture delays the purchase but settles it exactly once', async () => {
  const product = await engine.createProduct();
  const refs = await engine.checkout(product.id);
  const before = proxy.counts.requests;
  // More 500s than the SDK retries on its own (2), so the activity itself fails and is retried.
  proxy.failNext(7);
  expect((await engine.pay(refs)).status).toBe(200);
  const view = await engine.waitForStatus(refs.purchaseId, ['settled', 'failed'], 90_000);
  expect(view.status).toBe('settled');
  expect(view.stripeFeeCents).toBe('103');
  expect(proxy.counts.errors).toBe(7);
  expect(proxy.counts.requests - before).toBeGreaterThan(7);
  expect(await engine.db.collaboratorPayment.count({ where: { purchaseId: refs.purchaseId } })).toBe(3);
  expect(await engine.db.journalTransaction.count({ where: { purchaseId: refs.purchaseId, kind: 'purchase_settled' } })).toBe(1);
});

it('a Stripe outage at checkout answers 500 and leaves no purchase behind', async () => {
  const product = await engine.createProduct();
  const purchases = await engine.db.purchase.count();
  proxy.failNext(10);
  const res = await engine.http('POST', '/api/checkout/sessions', {
    productId: product.id,
    buyerWallet: (await import('@solana/web3.js')).Keypair.generate().publicKey.toBase58(),
  });
  expect(res.status).toBe(500);
  expect(await res.json()).toEqual({ error: { type: 'internal_error', message: 'internal error' } });
  expect(await engine.db.purchase.count()).toBe(purchases);
  proxy.failNext(0);
});
