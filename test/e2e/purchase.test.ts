import { PublicKey } from '@solana/web3.js';
import { getAssociatedTokenAddressSync, getMint, TOKEN_2022_PROGRAM_ID, unpackAccount } from '@solana/spl-token';
import { paymentIntentSucceeded } from '../../dev/stripe-test-events';
import { startEngine, type Engine } from '../helpers/engine';
import { usdcOf } from '../helpers/solana-chain';

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine();
});
afterAll(async () => {
  await engine?.close();
});

it('a paid checkout settles once: exact payouts on chain, NFT to the buyer, ledger balanced', async () => {
  const product = await engine.createProduct();
  const refs = await engine.checkout(product.id);
  expect((await engine.purchase(refs.purchaseId)).status).toBe('pending_payment');
  const treasuryBefore = await usdcOf(engine.chain.connection, engine.chain.usdcMint, engine.chain.treasury);

  const res = await engine.pay(refs);
  expect(res.status).toBe(200);
  const view = await engine.waitForStatus(refs.purchaseId, ['settled', 'failed']);

  expect(view).toMatchObject({
    status: 'settled',
    grossCents: '2500',
    stripeFeeCents: '103',
    netCents: '2397',
    platformFeeCents: '239',
    creatorPoolMicroUsdc: '21580000',
  });
  expect(view.payouts.map((p) => p.amountMicroUsdc)).toEqual(['12948000', '6474000', '2158000']);
  expect(view.settlement.txId).toEqual(expect.any(String));

  // On chain: each collaborator got exactly its payout, the treasury paid exactly the pool.
  for (const p of view.payouts) {
    expect(await usdcOf(engine.chain.connection, engine.chain.usdcMint, new PublicKey(p.wallet))).toBe(BigInt(p.amountMicroUsdc ?? -1));
  }
  const treasuryAfter = await usdcOf(engine.chain.connection, engine.chain.usdcMint, engine.chain.treasury);
  expect(treasuryBefore - treasuryAfter).toBe(21_580_000n);
  const mint = new PublicKey(view.settlement.nftId ?? '');
  const mintInfo = await getMint(engine.chain.connection, mint, 'confirmed', TOKEN_2022_PROGRAM_ID);
  expect(mintInfo.supply).toBe(1n);
  expect(mintInfo.mintAuthority).toBeNull();
  const buyerAta = getAssociatedTokenAddressSync(mint, new PublicKey(refs.buyerWallet), false, TOKEN_2022_PROGRAM_ID);
  const ataInfo = await engine.chain.connection.getAccountInfo(buyerAta);
  expect(unpackAccount(buyerAta, ataInfo, TOKEN_2022_PROGRAM_ID).amount).toBe(1n);

  // Ledger: every journal transaction sums to zero, and gross = fee + platform fee + pool.
  const sums = await engine.db.journalEntry.groupBy({ by: ['transactionId'], _sum: { amountMicro: true } });
  for (const s of sums) expect(s._sum.amountMicro).toBe(0n);
  const rows = await engine.db.collaboratorPayment.findMany({ where: { purchaseId: refs.purchaseId } });
  expect(rows).toHaveLength(3);
  expect(new Set(rows.map((r) => r.txId))).toEqual(new Set([view.settlement.txId]));
  const hold = await engine.db.treasuryHold.findUniqueOrThrow({ where: { purchaseId: refs.purchaseId } });
  expect(hold.status).toBe('posted');
  expect(103n + 239n + 2158n).toBe(2500n);
});

it('duplicate and concurrent deliveries, and two different events for one session, give one run and one settlement', async () => {
  const product = await engine.createProduct();
  const refs = await engine.checkout(product.id);
  const { checkoutSessionCompleted } = await import('../../dev/stripe-test-events');
  const completed = checkoutSessionCompleted(refs);
  const succeeded = paymentIntentSucceeded(refs);
  const responses = await Promise.all([
    engine.deliver(completed),
    engine.deliver(completed),
    engine.deliver(succeeded),
    engine.deliver(completed),
    engine.deliver(succeeded),
  ]);
  expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
  await engine.waitForStatus(refs.purchaseId, ['settled']);
  // A late duplicate after settlement is acknowledged and changes nothing.
  const late = await engine.deliver(completed);
  expect(await late.json()).toMatchObject({ outcome: 'duplicate' });

  expect(await engine.db.collaboratorPayment.count({ where: { purchaseId: refs.purchaseId } })).toBe(3);
  expect(await engine.db.journalTransaction.count({ where: { purchaseId: refs.purchaseId, kind: 'purchase_settled' } })).toBe(1);
  expect(await engine.db.webhookEvent.count({ where: { id: { in: [completed.id, succeeded.id] } } })).toBe(2);
  const runs = [];
  for await (const wf of engine.temporal.client.workflow.list({ query: `WorkflowId = 'purchase-${refs.purchaseId}'` })) runs.push(wf);
  expect(runs).toHaveLength(1);
});

it('finds the purchase by client_reference_id when the session carries no metadata', async () => {
  const product = await engine.createProduct();
  const refs = await engine.checkout(product.id);
  const { checkoutSessionCompleted } = await import('../../dev/stripe-test-events');
  const evt = checkoutSessionCompleted(refs);
  (evt.data.object as { metadata: Record<string, string> }).metadata = {};
  const res = await engine.deliver(evt);
  expect(await res.json()).toMatchObject({ outcome: 'queued' });
  expect(await engine.outcome(evt.id)).toBe('started');
  expect((await engine.waitForStatus(refs.purchaseId, ['settled'])).status).toBe('settled');
});
