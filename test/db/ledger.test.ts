import type { Db } from '../../src/db/client';
import {
  Account,
  expireOrphanedHolds,
  recordTreasuryFunding,
  reserveTreasuryHold,
  treasuryPosition,
  voidTreasuryHold,
  postJournal,
} from '../../src/db/ledger';
import { Rail } from '../../src/shared/status';
import { freshDb } from '../helpers/db';

let db: Db;
beforeAll(async () => {
  ({ db } = await freshDb());
});
afterAll(async () => {
  await db.$disconnect();
});

const inOneDay = () => new Date(Date.now() + 86_400_000);

it('50 concurrent reservations against a treasury that covers 10 never overdraw it', async () => {
  await recordTreasuryFunding(db, { rail: Rail.Solana, amountMicro: 10_000_000n, reference: 'concurrency', source: 'owner' });
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      reserveTreasuryHold(db, { purchaseId: `pur_concurrent_${i}`, rail: Rail.Solana, amountMicro: 1_000_000n, expiresAt: inOneDay() }),
    ),
  );
  expect(results.filter((r) => r.outcome === 'reserved')).toHaveLength(10);
  const position = await treasuryPosition(db, Rail.Solana);
  expect(position).toEqual({ balanceMicro: 10_000_000n, openHoldsMicro: 10_000_000n, availableMicro: 0n });
  const holds = await db.treasuryHold.count({ where: { status: 'pending' } });
  expect(holds).toBe(10);
});

it('reserving twice for one purchase holds once; voiding frees it; voiding again changes nothing', async () => {
  const { db: d } = await freshDb();
  try {
    await recordTreasuryFunding(d, { rail: Rail.Evm, amountMicro: 5_000_000n, reference: 'x', source: 'owner' });
    const a = await reserveTreasuryHold(d, {
      purchaseId: 'pur_twice_0001',
      rail: Rail.Evm,
      amountMicro: 3_000_000n,
      expiresAt: inOneDay(),
    });
    const b = await reserveTreasuryHold(d, {
      purchaseId: 'pur_twice_0001',
      rail: Rail.Evm,
      amountMicro: 3_000_000n,
      expiresAt: inOneDay(),
    });
    expect(a.outcome).toBe('reserved');
    expect(b.outcome).toBe('reserved');
    expect((await treasuryPosition(d, Rail.Evm)).availableMicro).toBe(2_000_000n);
    expect(await voidTreasuryHold(d, 'pur_twice_0001')).toBe('voided');
    expect(await voidTreasuryHold(d, 'pur_twice_0001')).toBe('voided');
    expect((await treasuryPosition(d, Rail.Evm)).availableMicro).toBe(5_000_000n);
    expect(await voidTreasuryHold(d, 'pur_never_0001')).toBe('none');
  } finally {
    await d.$disconnect();
  }
});

it('refuses an unbalanced journal and writes nothing', async () => {
  const before = await db.journalTransaction.count();
  await expect(
    db.$transaction((tx) =>
      postJournal(tx, { idempotencyKey: 'bad', kind: 'test', lines: [{ account: Account.stripeFees, amountMicro: 1n }] }),
    ),
  ).rejects.toThrow(/does not balance/);
  expect(await db.journalTransaction.count()).toBe(before);
});

it('a repeated idempotency key posts once', async () => {
  const lines = [
    { account: Account.stripeFees, amountMicro: 7n },
    { account: Account.stripeReceivable, amountMicro: -7n },
  ];
  const first = await db.$transaction((tx) => postJournal(tx, { idempotencyKey: 'dup-key', kind: 'test', lines }));
  const second = await db.$transaction((tx) => postJournal(tx, { idempotencyKey: 'dup-key', kind: 'test', lines }));
  expect(second).toEqual({ transactionId: first.transactionId, created: false });
  expect(await db.journalEntry.count({ where: { transactionId: first.transactionId } })).toBe(2);
});

it('moves each balance by the sum of its lines, with an account named twice and 20 journals at once', async () => {
  const balances = async () =>
    Object.fromEntries(
      (await db.ledgerAccount.findMany({ where: { code: { in: [Account.sales, Account.stripeReceivable, Account.stripeFees] } } })).map(
        (a) => [a.code, a.balanceMicro],
      ),
    );
  const before = await balances();
  const lines = [
    { account: Account.stripeReceivable, amountMicro: 100n },
    { account: Account.stripeFees, amountMicro: 3n },
    { account: Account.stripeReceivable, amountMicro: -3n },
    { account: Account.sales, amountMicro: -100n },
  ];
  await Promise.all(
    Array.from({ length: 20 }, (_, i) => db.$transaction((tx) => postJournal(tx, { idempotencyKey: `sum-${i}`, kind: 'test', lines }))),
  );
  const after = await balances();
  expect(after[Account.stripeReceivable]).toBe((before[Account.stripeReceivable] ?? 0n) + 20n * 97n);
  expect(after[Account.stripeFees]).toBe((before[Account.stripeFees] ?? 0n) + 20n * 3n);
  expect(after[Account.sales]).toBe((before[Account.sales] ?? 0n) - 20n * 100n);
});

it('expires stale holds only when their purchase has ended; a live run keeps its hold', async () => {
  const { db: d } = await freshDb();
  try {
    await recordTreasuryFunding(d, { rail: Rail.Solana, amountMicro: 10_000_000n, reference: 'ttl', source: 'owner' });
    await d.product.create({ data: { id: 'prod_ttl', title: 't', priceCents: 2500n, rail: 'solana' } });
    for (const [id, status] of [
      ['pur_ttl_terminated', 'failed'],
      ['pur_ttl_waiting', 'awaiting_approval'],
    ] as const) {
      await d.purchase.create({ data: { id, productId: 'prod_ttl', buyerWallet: 'w', rail: 'solana', status } });
      await reserveTreasuryHold(d, { purchaseId: id, rail: Rail.Solana, amountMicro: 4_000_000n, expiresAt: new Date(Date.now() - 1_000) });
    }
    expect((await treasuryPosition(d, Rail.Solana)).availableMicro).toBe(2_000_000n);
    expect(await expireOrphanedHolds(d, new Date())).toBe(1);
    expect(await expireOrphanedHolds(d, new Date())).toBe(0);
    expect((await d.treasuryHold.findUniqueOrThrow({ where: { purchaseId: 'pur_ttl_terminated' } })).status).toBe('expired');
    expect((await d.treasuryHold.findUniqueOrThrow({ where: { purchaseId: 'pur_ttl_waiting' } })).status).toBe('pending');
    expect((await treasuryPosition(d, Rail.Solana)).availableMicro).toBe(6_000_000n);
  } finally {
    await d.$disconnect();
  }
});
