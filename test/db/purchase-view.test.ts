/**
 * The status read model built by PostgreSQL in one statement (`purchaseView`): the answer's fields,
 * the payouts before and after settlement, and the approval reason.
 */
import { Keypair } from '@solana/web3.js';
import type { Db } from '../../src/db/client';
import {
  attachPaymentIntent,
  createPendingPurchase,
  createProduct,
  findPurchaseId,
  findPurchaseIdByPaymentIntent,
  purchaseView,
} from '../../src/db/purchases';
import { Rail } from '../../src/shared/status';
import { freshDb } from '../helpers/db';

let db: Db;
beforeAll(async () => {
  ({ db } = await freshDb());
});
afterAll(async () => {
  await db?.$disconnect();
});

/** A $25 Solana purchase, pending, of a new product split between `wallets` (7000/3000 for two). */
async function pendingPurchase(name: string, wallets: string[]) {
  const roles = ['artist', 'writer'];
  const product = await createProduct(db, {
    title: name,
    priceCents: 2500n,
    currency: 'usd',
    rail: Rail.Solana,
    collaborators: wallets.map((wallet, i) => ({
      wallet,
      role: roles[i] ?? 'artist',
      shareBps: wallets.length === 1 ? 10_000 : i === 0 ? 7000 : 3000,
    })),
  });
  const purchase = await createPendingPurchase(db, {
    id: `pur_${name}${Date.now()}`,
    productId: product.id,
    buyerWallet: Keypair.generate().publicKey.toBase58(),
    rail: Rail.Solana,
    grossCents: 2500n,
    checkoutSessionId: `cs_${name}${Date.now()}`,
  });
  return { product, purchase };
}

it('answers the purchase with its product split, then its approval reason; undefined for an unknown id', async () => {
  const wallets = [Keypair.generate().publicKey.toBase58(), Keypair.generate().publicKey.toBase58()];
  const { product, purchase } = await pendingPurchase('view', wallets);
  const view = await purchaseView(db, purchase.id);
  const row = await db.purchase.findUniqueOrThrow({ where: { id: purchase.id } });
  expect(view?.version).toBe(row.version);
  expect(JSON.parse(view?.json ?? '')).toEqual({
    purchaseId: purchase.id,
    productId: product.id,
    status: row.status,
    grossCents: '2500',
    stripeFeeCents: null,
    netCents: null,
    platformFeeCents: null,
    creatorPoolMicroUsdc: null,
    payouts: [
      { wallet: wallets[0], role: 'artist', shareBps: 7000, amountMicroUsdc: null },
      { wallet: wallets[1], role: 'writer', shareBps: 3000, amountMicroUsdc: null },
    ],
    settlement: { rail: Rail.Solana, txId: null, nftId: null },
    failure: null,
    approvalReason: null,
    updatedAt: row.updatedAt.toISOString(),
  });

  await db.purchase.update({ where: { id: purchase.id }, data: { status: 'awaiting_approval', failureType: 'x', failureMessage: 'y' } });
  const waiting = JSON.parse((await purchaseView(db, purchase.id))?.json ?? '') as Record<string, unknown>;
  expect(waiting).toMatchObject({
    status: 'awaiting_approval',
    approvalReason: 'approval_threshold',
    failure: { type: 'x', message: 'y' },
  });
  expect(await purchaseView(db, 'pur_unknown')).toBeUndefined();
});

it('finds a purchase by id, and ties its PaymentIntent once in a statement that also finds it, moving updatedAt', async () => {
  const { purchase } = await pendingPurchase('attach', [Keypair.generate().publicKey.toBase58()]);
  expect(await findPurchaseId(db, purchase.id)).toBe(purchase.id);
  expect(await findPurchaseId(db, 'pur_unknown')).toBeUndefined();
  const before = await db.purchase.findUniqueOrThrow({ where: { id: purchase.id } });
  await new Promise((r) => setTimeout(r, 5));
  await expect(attachPaymentIntent(db, purchase.id, 'pi_first')).resolves.toBe(purchase.id);
  await expect(attachPaymentIntent(db, purchase.id, 'pi_second')).resolves.toBe(purchase.id);
  await expect(attachPaymentIntent(db, 'pur_unknown', 'pi_third')).resolves.toBeUndefined();
  const after = await db.purchase.findUniqueOrThrow({ where: { id: purchase.id } });
  expect(after.paymentIntentId).toBe('pi_first');
  expect(after.updatedAt.getTime()).toBeGreaterThan(before.updatedAt.getTime());
  expect(after.updatedAt.getTime()).toBeLessThanOrEqual(Date.now());
  expect(await findPurchaseIdByPaymentIntent(db, 'pi_first')).toBe(purchase.id);
});
