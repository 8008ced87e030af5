/**
 * A cancellation that arrives while the settlement transaction is being sent (from the Temporal UI,
 * say) cannot abandon it: the pivot finishes, the purchase is recorded as settled, nothing is undone.
 */
import { purchaseWorkflowId } from '../../src/shared/ids';
import { startEngine, type Engine } from '../helpers/engine';
import { wrapSolanaSettle } from '../helpers/rails';

let engine: Engine;
let entered: () => void = () => undefined;
beforeAll(async () => {
  engine = await startEngine({
    activityDeps: wrapSolanaSettle(async (req, journal, settle) => {
      entered();
      await new Promise((r) => setTimeout(r, 2_000));
      return settle(req, journal);
    }),
  });
});
afterAll(async () => {
  await engine?.close();
});

it('cancelling during the on-chain send still settles and records the purchase once', async () => {
  const product = await engine.createProduct();
  const refs = await engine.checkout(product.id);
  const sending = new Promise<void>((resolve) => (entered = resolve));
  await engine.pay(refs);
  await sending;
  const handle = engine.temporal.client.workflow.getHandle(purchaseWorkflowId(refs.purchaseId));
  await handle.cancel();
  const view = await engine.waitForStatus(refs.purchaseId, ['settled', 'failed'], 60_000);
  expect(view.status).toBe('settled');
  expect(await engine.db.collaboratorPayment.count({ where: { purchaseId: refs.purchaseId } })).toBe(3);
  expect((await engine.db.treasuryHold.findUniqueOrThrow({ where: { purchaseId: refs.purchaseId } })).status).toBe('posted');
  expect(await handle.result()).toMatchObject({ status: 'settled' });
});
