/**
 * Who acts on a stored Stripe event (STRIPE_EVENTS_ACTED_ON_BY): the worker by default, woken by
 * PostgreSQL's notification, or the API itself right after its acknowledgement.
 */
import { checkoutSessionCompleted } from '../../dev/stripe-test-events';
import { startEngine, type Engine } from '../helpers/engine';

describe('the worker as the actor (the default)', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startEngine();
  });
  afterAll(async () => {
    await engine?.close();
  });

  it('an event acknowledged while the worker is down waits in the outbox and is acted on once it is back', async () => {
    const product = await engine.createProduct();
    const refs = await engine.checkout(product.id);
    await engine.stopWorker();
    const evt = checkoutSessionCompleted(refs);
    const res = await engine.deliver(evt);
    expect(await res.json()).toMatchObject({ received: true, outcome: 'queued' });
    // Nobody acts on it: no run exists yet.
    expect(await engine.db.webhookEvent.findUniqueOrThrow({ where: { id: evt.id } })).toMatchObject({ processedAt: null, outcome: null });
    await expect(engine.temporal.client.workflow.getHandle(`purchase-${refs.purchaseId}`).describe()).rejects.toThrow();

    await engine.startWorker();
    expect(await engine.outcome(evt.id)).toBe('started');
    expect((await engine.waitForStatus(refs.purchaseId, ['settled'])).status).toBe('settled');
    expect(await engine.db.collaboratorPayment.count({ where: { purchaseId: refs.purchaseId } })).toBe(3);
  });
});

describe('the API as the actor', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startEngine({ env: { STRIPE_EVENTS_ACTED_ON_BY: 'api' } });
  });
  afterAll(async () => {
    await engine?.close();
  });

  it('acts on the event right after acknowledging it; duplicates give one run and one settlement', async () => {
    const product = await engine.createProduct();
    const refs = await engine.checkout(product.id);
    const evt = checkoutSessionCompleted(refs);
    const responses = await Promise.all([engine.deliver(evt), engine.deliver(evt), engine.deliver(evt)]);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await engine.outcome(evt.id)).toBe('started');
    expect((await engine.waitForStatus(refs.purchaseId, ['settled'])).status).toBe('settled');
    expect(await engine.db.collaboratorPayment.count({ where: { purchaseId: refs.purchaseId } })).toBe(3);
    expect(await engine.db.journalTransaction.count({ where: { purchaseId: refs.purchaseId, kind: 'purchase_settled' } })).toBe(1);
  });
});
