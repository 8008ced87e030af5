/**
 * The emergency pause end to end: while paused, purchase runs go up to the pivot and wait there
 * (`paused` in PostgreSQL and as the PurchaseStatus search attribute); nothing is sent on chain until
 * resume, which releases them; a send already under way when the pause comes finishes.
 */
import { PublicKey } from '@solana/web3.js';
import { startEngine, type Engine } from '../helpers/engine';
import { runOpsCli } from '../helpers/ops-cli';
import { wrapSolanaSettle } from '../helpers/rails';
import { usdcOf } from '../helpers/solana-chain';

const ARTIST_SHARE_OF_25_USD = 12_948_000n; // 60% of the 21.58 USDC pool of a $25.00 purchase

/** Every on-chain send the worker starts, by purchase, in order; `held` blocks one purchase's send until released. */
const sends: string[] = [];
let held: { purchaseId: string; entered: () => void; release: Promise<void> } | undefined;

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine({
    activityDeps: wrapSolanaSettle(async (req, journal, settle) => {
      sends.push(req.purchaseId);
      if (held?.purchaseId === req.purchaseId) {
        held.entered();
        await held.release;
      }
      return settle(req, journal);
    }),
  });
});
afterAll(async () => {
  await engine?.close();
});

interface PauseAnswer {
  paused: boolean;
  alreadyApplied: boolean;
  settling: string[];
  actor: string;
  reason: string;
}

const admin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
  const res = await engine.http(method, path, body, engine.adminHeaders);
  if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
};

async function pausedInVisibility(): Promise<number> {
  let n = 0;
  for await (const _ of engine.temporal.client.workflow.list({
    query: "WorkflowType = 'purchaseWorkflow' AND ExecutionStatus = 'Running' AND PurchaseStatus = 'paused'",
  }))
    n += 1;
  return n;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

it('a pause during a burst of 20 purchases lands none on chain until resume; all 20 then settle once', async () => {
  const product = await engine.createProduct();
  const artist = new PublicKey(product.collaborators[0]?.wallet ?? '');
  const refs = await Promise.all(Array.from({ length: 20 }, () => engine.checkout(product.id)));
  const ids = refs.map((r) => r.purchaseId);

  // The burst: the first 5 payments arrive, the pause, then the other 15.
  expect((await Promise.all(refs.slice(0, 5).map((r) => engine.pay(r)))).map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
  const pause = await admin<PauseAnswer>('POST', '/admin/settlement/pause', { reason: 'incident 42: suspected key leak' });
  expect(pause).toMatchObject({ paused: true, alreadyApplied: false, actor: 'admin', reason: 'incident 42: suspected key leak' });
  // Sends already past the gate when the pause committed may finish; nothing else may land.
  const alreadyPast = new Set([
    ...pause.settling,
    ...(await engine.db.purchase.findMany({ where: { id: { in: ids }, status: 'settled' }, select: { id: true } })).map((p) => p.id),
  ]);
  expect((await Promise.all(refs.slice(5).map((r) => engine.pay(r)))).map((a) => a.status)).toEqual(Array.from({ length: 15 }, () => 200));
  const held = ids.filter((id) => !alreadyPast.has(id));
  expect(held.length).toBeGreaterThanOrEqual(15);

  // Every run goes up to the pivot and waits there, visible in PostgreSQL and in Temporal.
  await Promise.all(held.map((id) => engine.waitForStatus(id, ['paused'], 120_000)));
  await until('the paused runs in visibility', async () => (await pausedInVisibility()) === held.length);
  expect(await admin('GET', '/admin/settlement')).toMatchObject({
    paused: true,
    actor: 'admin',
    reason: 'incident 42: suspected key leak',
    pausedPurchases: held.length,
  });
  // A repeat pause changes nothing and keeps the first reason.
  expect(await admin<PauseAnswer>('POST', '/admin/settlement/pause', { reason: 'again' })).toMatchObject({
    alreadyApplied: true,
    reason: 'incident 42: suspected key leak',
  });
  // Still nothing sent for them a while later: no send started, no attempt journalled, no USDC moved.
  await new Promise((r) => setTimeout(r, 3_000));
  expect(sends.filter((id) => held.includes(id))).toEqual([]);
  expect(await engine.db.settlementAttempt.count({ where: { purchaseId: { in: held } } })).toBe(0);
  expect(await usdcOf(engine.chain.connection, engine.chain.usdcMint, artist)).toBe(BigInt(alreadyPast.size) * ARTIST_SHARE_OF_25_USD);
  expect((await engine.purchase(held[0] ?? '')).status).toBe('paused');

  // Resume signals every waiting run (oldest first); all 20 settle, each exactly once.
  const resumed = await admin<{ paused: boolean; signalled: string[] }>('POST', '/admin/settlement/resume', {
    reason: 'incident 42 closed',
  });
  expect(resumed.paused).toBe(false);
  expect([...resumed.signalled].sort()).toEqual([...held].sort());
  const views = await Promise.all(ids.map((id) => engine.waitForStatus(id, ['settled', 'failed'], 120_000)));
  expect(views.map((v) => v.status)).toEqual(ids.map(() => 'settled'));
  expect(await usdcOf(engine.chain.connection, engine.chain.usdcMint, artist)).toBe(20n * ARTIST_SHARE_OF_25_USD);
  expect(await engine.db.collaboratorPayment.count({ where: { purchaseId: { in: ids } } })).toBe(60);
  expect(await engine.db.journalTransaction.count({ where: { purchaseId: { in: ids }, kind: 'purchase_settled' } })).toBe(20);
  expect(new Set(views.map((v) => v.settlement.txId)).size).toBe(20);

  const audit = await engine.db.auditLog.findMany({
    where: { action: { in: ['settlement.pause', 'settlement.resume'] } },
    orderBy: { id: 'asc' },
  });
  expect(audit.map((a) => [a.action, a.actor, a.reason, a.result])).toEqual([
    ['settlement.pause', 'admin', 'incident 42: suspected key leak', 'ok'],
    ['settlement.pause', 'admin', 'again', 'ok'],
    ['settlement.resume', 'admin', 'incident 42 closed', 'ok'],
  ]);
  expect(audit[0]?.flagged).toBe(true);
}, 300_000);

it('a settlement already being sent when the pause comes finishes; a purchase arriving after it waits', async () => {
  const product = await engine.createProduct();
  const first = await engine.checkout(product.id);
  let release: () => void = () => undefined;
  const entered = new Promise<void>((resolve) => {
    held = { purchaseId: first.purchaseId, entered: resolve, release: new Promise<void>((r) => (release = r)) };
  });
  await engine.pay(first);
  await entered;

  const pause = await admin<PauseAnswer>('POST', '/admin/settlement/pause', { reason: 'drill' });
  expect(pause.settling).toEqual([first.purchaseId]);
  const second = await engine.checkout(product.id);
  await engine.pay(second);
  await engine.waitForStatus(second.purchaseId, ['paused']);
  release();
  expect((await engine.waitForStatus(first.purchaseId, ['settled'])).settlement.txId).not.toBeNull();
  expect((await engine.purchase(second.purchaseId)).status).toBe('paused');

  await admin('POST', '/admin/settlement/resume', {});
  await engine.waitForStatus(second.purchaseId, ['settled']);
  expect(sends.filter((id) => id === first.purchaseId)).toHaveLength(1);
});

it('pause needs a reason (400 validation_failed) and the admin token (401); an undeclared field is refused', async () => {
  const bad = await engine.http('POST', '/admin/settlement/pause', {}, engine.adminHeaders);
  expect(bad.status).toBe(400);
  expect(await bad.json()).toMatchObject({ error: { type: 'validation_failed' } });
  expect((await engine.http('POST', '/admin/settlement/pause', { reason: 'x' })).status).toBe(401);
  expect((await engine.http('POST', '/admin/settlement/pause', { reason: 'x', extra: 1 }, engine.adminHeaders)).status).toBe(400);
  expect(await admin('GET', '/admin/settlement')).toMatchObject({ paused: false });
});

it('the ops CLI pauses, shows and resumes through the same service, audited as the CLI user', async () => {
  const ops = (...argv: string[]) => runOpsCli(engine, ...argv);

  expect(await ops('pause')).toMatchObject({ code: 1, stderr: expect.stringContaining('pause needs --reason') });
  const paused = await ops('pause', '--reason', 'cli drill');
  expect(paused.code).toBe(0);
  expect(JSON.parse(paused.stdout)).toMatchObject({
    paused: true,
    alreadyApplied: false,
    reason: 'cli drill',
    actor: expect.stringMatching(/^cli:/),
  });
  const product = await engine.createProduct();
  const refs = await engine.checkout(product.id);
  await engine.pay(refs);
  await engine.waitForStatus(refs.purchaseId, ['paused']);
  expect(JSON.parse((await ops('settlement')).stdout)).toMatchObject({ paused: true, reason: 'cli drill', pausedPurchases: 1 });
  const resumed = await ops('resume', '--reason', 'drill over');
  expect(JSON.parse(resumed.stdout)).toMatchObject({ paused: false, signalled: [refs.purchaseId] });
  await engine.waitForStatus(refs.purchaseId, ['settled']);
  const rows = await engine.db.auditLog.findMany({ where: { reason: { in: ['cli drill', 'drill over'] } }, orderBy: { id: 'asc' } });
  expect(rows.map((r) => [r.action, r.result])).toEqual([
    ['settlement.pause', 'ok'],
    ['settlement.resume', 'ok'],
  ]);
  expect(rows.every((r) => r.actor.startsWith('cli:'))).toBe(true);
});
