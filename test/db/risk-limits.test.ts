/**
 * The risk limits and the emergency pause's gate at the database level: both decided inside one
 * transaction under a row lock, so concurrent purchases cannot all slip through.
 */
import { Keypair } from '@solana/web3.js';
import type { Db } from '../../src/db/client';
import { newId } from '../../src/db/ids';
import { recordTreasuryFunding, reserveTreasuryHold, voidTreasuryHold } from '../../src/db/ledger';
import { createPendingPurchase, createProduct } from '../../src/db/purchases';
import { NO_RISK_LIMITS, type RiskLimits } from '../../src/db/risk-limits';
import { enterSettlement, setSettlementPaused, settlementPauseState } from '../../src/db/settlement-pause';
import { Rail } from '../../src/shared/status';
import { freshDb } from '../helpers/db';

let db: Db;
let productId: string;
beforeAll(async () => {
  ({ db } = await freshDb());
  await recordTreasuryFunding(db, { rail: Rail.Solana, amountMicro: 1_000_000_000_000n, reference: 'risk', source: 'owner' });
  await recordTreasuryFunding(db, { rail: Rail.Evm, amountMicro: 1_000_000_000_000n, reference: 'risk-evm', source: 'owner' });
  const product = await createProduct(db, {
    title: 'Risk',
    priceCents: 2500n,
    currency: 'usd',
    rail: Rail.Solana,
    collaborators: [{ wallet: Keypair.generate().publicKey.toBase58(), role: 'artist', shareBps: 10_000 }],
  });
  productId = product.id;
});
afterAll(async () => {
  await db.$disconnect();
});

const inOneDay = () => new Date(Date.now() + 86_400_000);
const wallet = () => Keypair.generate().publicKey.toBase58();

async function purchase(opts: { buyerWallet?: string; rail?: Rail; grossCents?: bigint } = {}): Promise<string> {
  const id = newId('pur');
  await createPendingPurchase(db, {
    id,
    productId,
    buyerWallet: opts.buyerWallet ?? wallet(),
    rail: opts.rail ?? Rail.Solana,
    grossCents: opts.grossCents ?? 2500n,
    checkoutSessionId: `cs_${id}`,
  });
  return id;
}

const reserve = (purchaseId: string, limits: RiskLimits, rail: Rail = Rail.Solana, now = new Date()) =>
  reserveTreasuryHold(db, { purchaseId, rail, amountMicro: 1_000_000n, expiresAt: inOneDay(), now, limits });

const riskOf = (r: Awaited<ReturnType<typeof reserve>>) => (r.outcome === 'reserved' ? r.riskReason : 'insufficient');

describe('the daily volume limit', () => {
  // Each test counts from its own UTC day, far from the others', so holds of one never count in another.
  const day = (n: number) => new Date(Date.UTC(2030, 0, n, 12));

  it('set to one purchase: of 10 concurrent reservations exactly one is within it, the other 9 are flagged', async () => {
    const ids = await Promise.all(Array.from({ length: 10 }, () => purchase()));
    const limits: RiskLimits = { ...NO_RISK_LIMITS, dailyVolumeCents: { [Rail.Solana]: 2500n } };
    const results = await Promise.all(ids.map((id) => reserve(id, limits, Rail.Solana, day(1))));
    expect(results.every((r) => r.outcome === 'reserved')).toBe(true);
    expect(results.filter((r) => riskOf(r) === null)).toHaveLength(1);
    expect(results.filter((r) => riskOf(r) === 'risk_daily_volume')).toHaveLength(9);
    expect(await db.treasuryHold.count({ where: { purchaseId: { in: ids }, riskReason: 'risk_daily_volume' } })).toBe(9);
    // A repeat answers the verdict the hold was made with.
    const within = ids[results.findIndex((r) => riskOf(r) === null)] ?? '';
    expect(riskOf(await reserve(within, limits, Rail.Solana, day(1)))).toBeNull();
    expect(riskOf(await reserve(ids.find((id) => id !== within) ?? '', limits, Rail.Solana, day(1)))).toBe('risk_daily_volume');
  });

  it('counts per rail and per UTC day, and a voided hold releases its volume', async () => {
    const limits: RiskLimits = { ...NO_RISK_LIMITS, dailyVolumeCents: { [Rail.Solana]: 5000n } };
    const [a, b, c, d, e] = [await purchase(), await purchase(), await purchase(), await purchase({ rail: Rail.Evm }), await purchase()];
    expect(riskOf(await reserve(a, limits, Rail.Solana, day(3)))).toBeNull();
    expect(riskOf(await reserve(b, limits, Rail.Solana, day(3)))).toBeNull();
    expect(riskOf(await reserve(c, limits, Rail.Solana, day(3)))).toBe('risk_daily_volume');
    // EVM has no limit here; the next UTC day starts from zero.
    expect(riskOf(await reserve(d, limits, Rail.Evm, day(3)))).toBeNull();
    expect(riskOf(await reserve(e, limits, Rail.Solana, day(4)))).toBeNull();
    // b is rejected: its hold is voided, and another purchase on day 3 fits again.
    await voidTreasuryHold(db, b);
    expect(riskOf(await reserve(await purchase(), limits, Rail.Solana, day(3)))).toBeNull();
  });
});

it('the buyer velocity limit flags the reservations of one wallet beyond the limit within the window', async () => {
  const buyer = wallet();
  const limits: RiskLimits = { ...NO_RISK_LIMITS, buyerVelocity: { limit: 2, windowMs: 3_600_000 } };
  const now = new Date(Date.UTC(2030, 5, 1, 12));
  const ids = await Promise.all(Array.from({ length: 5 }, () => purchase({ buyerWallet: buyer })));
  const results = await Promise.all(ids.map((id) => reserve(id, limits, Rail.Solana, now)));
  expect(results.filter((r) => riskOf(r) === null)).toHaveLength(2);
  expect(results.filter((r) => riskOf(r) === 'risk_buyer_velocity')).toHaveLength(3);
  // Another wallet is not affected; the same wallet after the window is within the limit again.
  expect(riskOf(await reserve(await purchase(), limits, Rail.Solana, now))).toBeNull();
  expect(
    riskOf(await reserve(await purchase({ buyerWallet: buyer }), limits, Rail.Solana, new Date(now.getTime() + 3_600_001))),
  ).toBeNull();
});

it('the pause gate: the purchases a pause reports as settling are exactly the ones that entered before it', async () => {
  const ids = await Promise.all(Array.from({ length: 20 }, () => purchase()));
  // The first ten race the pause; the last ten come after it, so some are always held back however
  // late a loaded machine fires the timers.
  const racing = ids.slice(0, 10).map((id, i) => new Promise<void>((r) => setTimeout(r, i * 5)).then(() => enterSettlement(db, id)));
  const pause = new Promise<void>((r) => setTimeout(r, 20)).then(() =>
    setSettlementPaused(db, { paused: true, actor: 'test', reason: 'incident' }),
  );
  const [raced, change] = await Promise.all([Promise.all(racing), pause]);
  const late = await Promise.all(ids.slice(10).map((id) => enterSettlement(db, id)));
  const results = [...raced, ...late];
  expect(late.every((r) => !r.entered)).toBe(true);
  const entered = ids.filter((_, i) => results[i]?.entered);
  expect(change.changed).toBe(true);
  expect([...change.settling].sort()).toEqual([...entered].sort());
  const rows = await db.purchase.findMany({ where: { id: { in: ids } }, select: { id: true, status: true } });
  for (const r of rows)
    expect({ id: r.id, status: r.status }).toEqual({ id: r.id, status: entered.includes(r.id) ? 'settling' : 'paused' });
  expect(entered.length).toBeLessThan(ids.length);

  // Durable, idempotent, and lifted by resume: the gate lets the paused ones through.
  expect(await settlementPauseState(db)).toMatchObject({ paused: true, actor: 'test', reason: 'incident' });
  expect((await setSettlementPaused(db, { paused: true, actor: 'other', reason: 'again' })).changed).toBe(false);
  expect(await settlementPauseState(db)).toMatchObject({ paused: true, actor: 'test', reason: 'incident' });
  expect((await setSettlementPaused(db, { paused: false, actor: 'test', reason: null })).changed).toBe(true);
  const waiting = ids.filter((id) => !entered.includes(id));
  expect((await Promise.all(waiting.map((id) => enterSettlement(db, id)))).every((g) => g.entered)).toBe(true);
});
