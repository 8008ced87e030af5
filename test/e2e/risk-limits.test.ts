/**
 * Risk limits end to end: the limits are checked in the same transaction as the treasury hold, so
 * concurrent purchases cannot all slip under them; a purchase over one is not failed but parked for
 * approval, with its reason on the status and admin APIs, and an admin's approve settles it.
 */
import { Keypair, PublicKey } from '@solana/web3.js';
import { purchaseWorkflowId } from '../../src/shared/ids';
import { statusQuery } from '../../src/workflows/definitions';
import { startEngine, type Engine } from '../helpers/engine';
import { usdcOf } from '../helpers/solana-chain';

const ARTIST_SHARE_OF_25_USD = 12_948_000n; // 60% of the 21.58 USDC pool of a $25.00 purchase

async function reasonOf(engine: Engine, purchaseId: string): Promise<unknown> {
  const res = await engine.http('GET', `/api/purchases/${purchaseId}`);
  return ((await res.json()) as { approvalReason: unknown }).approvalReason;
}

describe('the daily volume limit, set to one purchase ($25.00 on solana)', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startEngine({ env: { RISK_DAILY_VOLUME_LIMIT_CENTS: 'solana=2500' } });
  });
  afterAll(async () => {
    await engine?.close();
  });

  it('parks every purchase after the first for approval under 10 concurrent purchases; approve settles one, reject voids another', async () => {
    const product = await engine.createProduct();
    const refs = await Promise.all(Array.from({ length: 10 }, () => engine.checkout(product.id)));
    const acks = await Promise.all(refs.map((r) => engine.pay(r)));
    expect(acks.map((a) => a.status)).toEqual(Array.from({ length: 10 }, () => 200));
    const views = await Promise.all(
      refs.map((r) => engine.waitForStatus(r.purchaseId, ['settled', 'awaiting_approval', 'failed'], 120_000)),
    );

    const settled = views.filter((v) => v.status === 'settled');
    const parked = views.filter((v) => v.status === 'awaiting_approval');
    expect(settled).toHaveLength(1);
    expect(parked).toHaveLength(9);
    for (const p of parked) expect(await reasonOf(engine, p.purchaseId)).toBe('risk_daily_volume');
    expect(await reasonOf(engine, settled[0]?.purchaseId ?? '')).toBeNull();
    // Parked, not failed: each holds its treasury reservation and has moved nothing on chain.
    expect(
      await engine.db.treasuryHold.count({
        where: { purchaseId: { in: parked.map((p) => p.purchaseId) }, status: 'pending', riskReason: 'risk_daily_volume' },
      }),
    ).toBe(9);
    expect(parked.every((p) => p.settlement.txId === null)).toBe(true);
    const artist = new PublicKey(product.collaborators[0]?.wallet ?? '');
    expect(await usdcOf(engine.chain.connection, engine.chain.usdcMint, artist)).toBe(ARTIST_SHARE_OF_25_USD);

    // The reason on the admin side: the run's status query and the awaiting listing.
    const first = parked[0]?.purchaseId ?? '';
    const state = await engine.temporal.client.workflow.getHandle(purchaseWorkflowId(first)).query(statusQuery);
    expect(state).toMatchObject({ status: 'awaiting_approval', waitingFor: 'approval', approvalReason: 'risk_daily_volume' });
    expect(await engine.db.alertOutbox.count({ where: { kind: 'risk_daily_volume', dedupeKey: { contains: first } } })).toBe(1);
    const deadline = Date.now() + 30_000;
    let listed: { purchase: { purchaseId: string; approvalReason: string | null } | null }[] = [];
    while (Date.now() < deadline) {
      const res = await engine.http('GET', '/admin/workflows?state=awaiting', undefined, engine.adminHeaders);
      listed = ((await res.json()) as { workflows: typeof listed }).workflows;
      if (listed.length === 9) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(listed.map((w) => w.purchase?.approvalReason)).toEqual(Array.from({ length: 9 }, () => 'risk_daily_volume'));

    // An admin's approve lets it settle over the limit; a reject fails another and voids its hold.
    const ok = await engine.http('POST', `/admin/purchases/${first}/approve`, { reason: 'known buyer, limit review' }, engine.adminHeaders);
    expect(ok.status).toBe(202);
    const approved = await engine.waitForStatus(first, ['settled'], 60_000);
    expect(approved.payouts.map((p) => p.amountMicroUsdc)).toEqual(['12948000', '6474000', '2158000']);
    expect(await reasonOf(engine, first)).toBeNull();
    const second = parked[1]?.purchaseId ?? '';
    expect(
      (await engine.http('POST', `/admin/purchases/${second}/reject`, { reason: 'over the daily limit' }, engine.adminHeaders)).status,
    ).toBe(202);
    expect((await engine.waitForStatus(second, ['failed'])).failure).toMatchObject({ type: 'approval_rejected' });
    expect((await engine.db.treasuryHold.findUniqueOrThrow({ where: { purchaseId: second } })).status).toBe('voided');
    expect(await usdcOf(engine.chain.connection, engine.chain.usdcMint, artist)).toBe(2n * ARTIST_SHARE_OF_25_USD);
    expect((await engine.purchase(parked[2]?.purchaseId ?? '')).status).toBe('awaiting_approval');
  });
});

describe('the buyer velocity limit (1 purchase per wallet per hour)', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startEngine({ env: { RISK_BUYER_VELOCITY_LIMIT: '1', RISK_BUYER_VELOCITY_WINDOW: '1 hour' } });
  });
  afterAll(async () => {
    await engine?.close();
  });

  it("parks a wallet's second purchase for approval; another wallet's purchase settles", async () => {
    const product = await engine.createProduct();
    const buyer = Keypair.generate().publicKey.toBase58();
    const a = await engine.checkout(product.id, buyer);
    await engine.pay(a);
    await engine.waitForStatus(a.purchaseId, ['settled']);
    const b = await engine.checkout(product.id, buyer);
    const c = await engine.checkout(product.id);
    await Promise.all([engine.pay(b), engine.pay(c)]);
    await engine.waitForStatus(b.purchaseId, ['awaiting_approval']);
    expect(await reasonOf(engine, b.purchaseId)).toBe('risk_buyer_velocity');
    await engine.waitForStatus(c.purchaseId, ['settled']);
    expect((await engine.http('POST', `/admin/purchases/${b.purchaseId}/approve`, {}, engine.adminHeaders)).status).toBe(202);
    await engine.waitForStatus(b.purchaseId, ['settled']);
  });
});
