/**
 * A database restart in the middle of purchases loses nothing and pays no one twice: activities fail
 * while PostgreSQL is down and Temporal retries them; a webhook that cannot be stored is answered 500
 * so Stripe redelivers it.
 */
import { checkoutSessionCompleted } from '../../dev/stripe-test-events';
import { startDatabaseServer, stopDatabaseServer } from '../helpers/db';
import { startEngine, type Engine } from '../helpers/engine';

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine();
});
afterAll(async () => {
  await engine?.close();
});

it('purchases in flight during a PostgreSQL restart settle exactly once', async () => {
  const product = await engine.createProduct();
  const inFlight = await engine.checkout(product.id);
  const whileDown = await engine.checkout(product.id);

  expect((await engine.pay(inFlight)).status).toBe(200);
  await stopDatabaseServer();
  // Stripe's delivery while the database is down is refused, so Stripe keeps it and retries.
  const event = checkoutSessionCompleted(whileDown);
  const refused = await engine.deliver(event);
  expect(refused.status).toBe(500);
  expect(await refused.json()).toEqual({ error: { type: 'internal_error', message: 'internal error' } });
  await new Promise((r) => setTimeout(r, 3_000));
  await startDatabaseServer();

  // Stripe's retry of the same event.
  expect((await engine.deliver(event)).status).toBe(200);
  for (const refs of [inFlight, whileDown]) {
    const view = await engine.waitForStatus(refs.purchaseId, ['settled'], 90_000);
    expect(view.payouts.map((p) => p.amountMicroUsdc)).toEqual(['12948000', '6474000', '2158000']);
    expect(await engine.db.collaboratorPayment.count({ where: { purchaseId: refs.purchaseId } })).toBe(3);
    expect(await engine.db.journalTransaction.count({ where: { purchaseId: refs.purchaseId, kind: 'purchase_settled' } })).toBe(1);
    expect(await engine.db.settlementAttempt.count({ where: { purchaseId: refs.purchaseId } })).toBe(1);
  }
});
