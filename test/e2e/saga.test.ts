import { PublicKey } from '@solana/web3.js';
import { getAssociatedTokenAddressSync, mintTo } from '@solana/spl-token';
import { eventOf } from '../../dev/dev-stripe/client';
import { checkoutSessionCompleted } from '../../dev/stripe-test-events';
import { purchaseWorkflowId } from '../../src/shared/ids';
import { statusQuery } from '../../src/workflows/definitions';
import { startEngine, type Engine } from '../helpers/engine';
import { usdcOf } from '../helpers/solana-chain';

// A treasury that covers one $25.00 purchase (pool 21.58 USDC) but not two.
const ONE_POOL = 21_580_000n;
let engine: Engine;
beforeAll(async () => {
  engine = await startEngine({ treasuryMicroUsdc: ONE_POOL + 1_000_000n });
});
afterAll(async () => {
  await engine?.close();
});

async function workflowState(purchaseId: string) {
  return engine.temporal.client.workflow.getHandle(purchaseWorkflowId(purchaseId)).query(statusQuery);
}

async function waitForWorkflow(purchaseId: string, predicate: (s: Awaited<ReturnType<typeof workflowState>>) => boolean) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const s = await workflowState(purchaseId).catch(() => undefined);
    if (s && predicate(s)) return s;
    if (Date.now() > deadline) throw new Error(`workflow ${purchaseId} never reached the expected state: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('a refund that arrives before the pivot aborts the purchase and moves nothing', async () => {
  const product = await engine.createProduct();
  const refs = await engine.checkout(product.id);
  // Refunded at Stripe right after the payment, and the refund's event is delivered first (out of
  // order); the payment after it must not settle.
  const refund = await engine.devStripe.refund(refs.paymentIntentId);
  expect((await engine.deliver(eventOf(refund.events, 'charge.refunded'))).status).toBe(200);
  expect((await engine.pay(refs)).status).toBe(200);
  const view = await engine.waitForStatus(refs.purchaseId, ['refunded', 'settled', 'failed']);
  expect(view.status).toBe('refunded');
  expect(view.settlement.txId).toBeNull();
  for (const c of product.collaborators)
    expect(await usdcOf(engine.chain.connection, engine.chain.usdcMint, new PublicKey(c.wallet))).toBe(0n);
  expect(await engine.db.treasuryHold.count({ where: { purchaseId: refs.purchaseId, status: 'pending' } })).toBe(0);
  expect(await engine.db.collaboratorPayment.count({ where: { purchaseId: refs.purchaseId } })).toBe(0);
});

it('a dispute delivered before the payment events (it carries no purchase id) still aborts the purchase', async () => {
  // Found by the 1,000-purchase chaos run: the dispute matched no purchase yet (its PaymentIntent is
  // attached by the payment event), was stored as unknown_purchase and never acted on, and the
  // purchase settled with the dispute unresolved.
  const product = await engine.createProduct();
  const refs = await engine.checkout(product.id);
  const dispute = await engine.devStripe.dispute(refs.chargeId);
  const early = eventOf(dispute.events, 'charge.dispute.created');
  expect((await engine.deliver(early)).status).toBe(200);
  expect(await engine.outcome(early.id)).toBe('unknown_purchase');
  expect((await engine.pay(refs)).status).toBe(200);
  const view = await engine.waitForStatus(refs.purchaseId, ['disputed', 'settled', 'failed']);
  expect(view.status).toBe('disputed');
  expect(view.settlement.txId).toBeNull();
  for (const c of product.collaborators)
    expect(await usdcOf(engine.chain.connection, engine.chain.usdcMint, new PublicKey(c.wallet))).toBe(0n);
  expect((await engine.db.webhookEvent.findUniqueOrThrow({ where: { id: early.id } })).outcome).toBe('signalled');
});

it('a refund after the pivot records a clawback receivable and never touches the chain', async () => {
  const product = await engine.createProduct();
  const refs = await engine.checkout(product.id);
  await engine.pay(refs);
  const settled = await engine.waitForStatus(refs.purchaseId, ['settled']);
  const paid = await usdcOf(engine.chain.connection, engine.chain.usdcMint, new PublicKey(product.collaborators[0]!.wallet));

  const refund = await engine.devStripe.refund(refs.paymentIntentId);
  expect(refund.amountCents).toBe(2500n);
  const refunded = eventOf(refund.events, 'charge.refunded');
  expect((await engine.deliver(refunded)).status).toBe(200);
  expect(await engine.outcome(refunded.id)).toBe('clawback');
  await engine.waitForStatus(refs.purchaseId, ['refunded']);
  const clawback = await engine.db.journalTransaction.findFirstOrThrow({
    where: { purchaseId: refs.purchaseId, kind: 'purchase_clawback' },
    include: { entries: true },
  });
  expect(clawback.entries.reduce((a, e) => a + e.amountMicro, 0n)).toBe(0n);
  expect(clawback.entries.find((e) => e.accountCode === 'clawback:receivable')?.amountMicro).toBe(
    BigInt(settled.creatorPoolMicroUsdc ?? 0),
  );
  expect(await usdcOf(engine.chain.connection, engine.chain.usdcMint, new PublicKey(product.collaborators[0]!.wallet))).toBe(paid);
  // A dispute on the same purchase later changes nothing more.
  const dispute = await engine.devStripe.dispute(refs.chargeId);
  const disputed = eventOf(dispute.events, 'charge.dispute.created');
  await engine.deliver(disputed);
  await engine.outcome(disputed.id);
  expect(await engine.db.journalTransaction.count({ where: { purchaseId: refs.purchaseId, kind: 'purchase_clawback' } })).toBe(1);
  expect(await engine.db.alertOutbox.count({ where: { dedupeKey: `purchase:${refs.purchaseId}:clawback` } })).toBe(1);
});

it('a short treasury parks the purchase in awaiting_treasury; replenishment settles it', async () => {
  // The previous test's settlement left 1 USDC: not enough for another 21.58 USDC pool.
  const product = await engine.createProduct();
  const refs = await engine.checkout(product.id);
  await engine.pay(refs);
  await engine.waitForStatus(refs.purchaseId, ['awaiting_treasury']);
  // The alert is raised right after the status is written, in the run's next step.
  const alerts = () => engine.db.alertOutbox.count({ where: { kind: 'treasury_insufficient', dedupeKey: { contains: refs.purchaseId } } });
  for (let i = 0; i < 200 && (await alerts()) === 0; i += 1) await new Promise((r) => setTimeout(r, 50));
  expect(await alerts()).toBe(1);

  // Stripe pays out; USDC lands in the treasury; ops books it. (Mint on the local chain as the payout.)
  await mintTo(
    engine.chain.connection,
    engine.chain.treasuryKeypair,
    engine.chain.usdcMint,
    getAssociatedTokenAddressSync(engine.chain.usdcMint, engine.chain.treasury),
    engine.chain.treasuryKeypair,
    50_000_000n,
  );
  const res = await engine.http(
    'POST',
    '/admin/treasury/replenished',
    { rail: 'solana', amountMicroUsdc: '50000000', reference: 'po_test_1' },
    engine.adminHeaders,
  );
  expect(res.status).toBe(202);
  expect(await res.json()).toMatchObject({ recorded: true, signalled: 1 });
  const view = await engine.waitForStatus(refs.purchaseId, ['settled']);
  expect(view.payouts.map((p) => p.amountMicroUsdc)).toEqual(['12948000', '6474000', '2158000']);
});

describe('above the approval threshold ($20.00 here; the payment is $25.00)', () => {
  it('waits for approval, then approve settles it', async () => {
    const e = await startEngine({ env: { APPROVAL_THRESHOLD_CENTS: '2000' } });
    try {
      const product = await e.createProduct();
      const refs = await e.checkout(product.id);
      await e.pay(refs);
      await e.waitForStatus(refs.purchaseId, ['awaiting_approval']);
      expect((await e.http('POST', `/admin/purchases/${refs.purchaseId}/approve`, {})).status).toBe(401);
      const ok = await e.http('POST', `/admin/purchases/${refs.purchaseId}/approve`, { reason: 'known buyer' }, e.adminHeaders);
      expect(ok.status).toBe(202);
      await e.waitForStatus(refs.purchaseId, ['settled']);
      const audit = await e.db.auditLog.findFirstOrThrow({ where: { action: 'purchase.approve', target: refs.purchaseId } });
      expect(audit).toMatchObject({ actor: 'admin', result: 'ok', reason: 'known buyer' });
      // approving again is an idempotent no-op; rejecting a settled purchase is a conflict
      const again = await e.http('POST', `/admin/purchases/${refs.purchaseId}/approve`, {}, e.adminHeaders);
      expect(again.status).toBe(202);
      expect(await again.json()).toMatchObject({ alreadyApplied: true });
      expect((await e.http('POST', `/admin/purchases/${refs.purchaseId}/reject`, {}, e.adminHeaders)).status).toBe(409);

      // reject voids the hold and moves nothing
      const refs2 = await e.checkout(product.id);
      await e.pay(refs2);
      await e.waitForStatus(refs2.purchaseId, ['awaiting_approval']);
      expect((await e.db.treasuryHold.findUniqueOrThrow({ where: { purchaseId: refs2.purchaseId } })).status).toBe('pending');
      expect((await e.http('POST', `/admin/purchases/${refs2.purchaseId}/reject`, { reason: 'fraud check' }, e.adminHeaders)).status).toBe(
        202,
      );
      const rejected = await e.waitForStatus(refs2.purchaseId, ['failed']);
      expect(rejected.failure).toMatchObject({ type: 'approval_rejected' });
      expect((await e.db.treasuryHold.findUniqueOrThrow({ where: { purchaseId: refs2.purchaseId } })).status).toBe('voided');
      expect(rejected.settlement.txId).toBeNull();
    } finally {
      await e.close();
    }
  });
});

it('the status query reports the same state as the read model', async () => {
  const product = await engine.createProduct();
  const refs = await engine.checkout(product.id);
  await engine.deliver(checkoutSessionCompleted(refs));
  const s = await waitForWorkflow(refs.purchaseId, (x) => ['awaiting_treasury', 'settled'].includes(x.status));
  expect((await engine.purchase(refs.purchaseId)).status).toBe(s.status);
});
