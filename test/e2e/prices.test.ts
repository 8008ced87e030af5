/**
 * Any price settles in dev: the dev Stripe charges each product's own price and books Stripe's card
 * fee (2.9% + 30¢) in the charge's balance transaction; the engine must capture exactly that fee and
 * pay the split on chain. $4,999.99 is above the $1,000.00 approval threshold, so it waits for an
 * operator first.
 */
import { PublicKey } from '@solana/web3.js';
import type Stripe from 'stripe';
import { createStripe } from '../../src/runtime';
import { startEngine, type Engine } from '../helpers/engine';
import { usdcOf } from '../helpers/solana-chain';

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine();
});
afterAll(async () => {
  await engine?.close();
});

it.each([
  { priceCents: 50n, feeCents: 31n, approval: false },
  { priceCents: 1999n, feeCents: 88n, approval: false },
  { priceCents: 9900n, feeCents: 317n, approval: false },
  { priceCents: 499999n, feeCents: 14530n, approval: true },
])(
  'a $priceCents¢ product settles with the fee of its own balance transaction ($feeCents¢)',
  async ({ priceCents, feeCents, approval }) => {
    const product = await engine.createProduct({ priceCents: priceCents.toString() });
    const refs = await engine.checkout(product.id);
    expect(refs.amountCents).toBe(priceCents);
    expect((await engine.pay(refs)).status).toBe(200);
    if (approval) {
      await engine.waitForStatus(refs.purchaseId, ['awaiting_approval']);
      expect(
        (await engine.http('POST', `/admin/purchases/${refs.purchaseId}/approve`, { reason: 'large order checked' }, engine.adminHeaders))
          .status,
      ).toBe(202);
    }
    const view = await engine.waitForStatus(refs.purchaseId, ['settled', 'failed'], 90_000);
    expect(view.failure).toBeNull();
    expect(view.status).toBe('settled');

    // The fee the engine booked is the one in Stripe's balance transaction, through the engine's own client.
    const pi = await createStripe(engine.config).paymentIntents.retrieve(refs.paymentIntentId, {
      expand: ['latest_charge.balance_transaction'],
    });
    const bt = (pi.latest_charge as Stripe.Charge).balance_transaction as Stripe.BalanceTransaction;
    expect(BigInt(bt.fee)).toBe(feeCents);
    expect(BigInt(bt.amount)).toBe(priceCents);
    expect(view).toMatchObject({
      grossCents: priceCents.toString(),
      stripeFeeCents: feeCents.toString(),
      netCents: (priceCents - feeCents).toString(),
    });
    const net = priceCents - feeCents;
    const platformFee = (net * BigInt(engine.config.PLATFORM_FEE_BPS)) / 10_000n;
    expect(view.platformFeeCents).toBe(platformFee.toString());
    const pool = (net - platformFee) * 10_000n;
    expect(view.creatorPoolMicroUsdc).toBe(pool.toString());

    // Every payout is on chain, and they sum to the pool exactly.
    let paid = 0n;
    for (const p of view.payouts) {
      const onChain = await usdcOf(engine.chain.connection, engine.chain.usdcMint, new PublicKey(p.wallet));
      expect(onChain.toString()).toBe(p.amountMicroUsdc);
      paid += onChain;
    }
    expect(paid).toBe(pool);
    const fee = await engine.db.journalEntry.findFirst({
      where: { accountCode: 'stripe:fees', transaction: { purchaseId: refs.purchaseId } },
    });
    expect(fee?.amountMicro).toBe(feeCents * 10_000n);
  },
);
