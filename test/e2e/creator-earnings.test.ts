/**
 * Creator earnings, payout notifications and the health alerts, end to end: two products share a
 * collaborator; the earnings routes (JSON, CSV, admin) give that wallet's exact figures; the public
 * route wants a fresh ownership proof signed by the wallet; every payout is announced to a signed
 * webhook endpoint; the success-rate alert fires while settlements fail and clears afterwards.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Keypair } from '@solana/web3.js';
import { ed25519 } from '@noble/curves/ed25519';
import { verifyCreatorWebhookSignature } from '../../src/activities/creator-webhooks';
import { walletProofMessage } from '../../src/api/wallet-proof';
import { eventOf } from '../../dev/dev-stripe/client';
import { DomainError, ErrorType } from '../../src/shared/errors';
import { splitLargestRemainder } from '../../src/shared/money';
import { startEngine, type Engine, type PurchaseView } from '../helpers/engine';
import { wrapSolanaSettle } from '../helpers/rails';

const SECRET = 'creator-webhook-test-secret';
const fault = { settlementRejected: false };

const faultyRail = wrapSolanaSettle(async (request, journal, settle) => {
  if (fault.settlementRejected) throw new DomainError(ErrorType.SettlementRejected, 'injected: the chain refused the settlement');
  return settle(request, journal);
});

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}
const received: Received[] = [];
let receiver: http.Server;
let engine: Engine;
const shared = Keypair.generate();
const other = Keypair.generate();
const sharedWallet = shared.publicKey.toBase58();

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  engine = await startEngine({
    env: {
      CREATOR_WEBHOOK_URLS: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/payouts`,
      CREATOR_WEBHOOK_SECRET: SECRET,
      HEALTH_WINDOW: '15 seconds',
      WALLET_PROOF_MAX_AGE: '2 minutes',
    },
    activityDeps: faultyRail,
  });
});
afterAll(async () => {
  await engine?.close();
  await new Promise((r) => receiver?.close(r));
});

const wallet = () => Keypair.generate().publicKey.toBase58();

async function settle(productId: string, statuses = ['settled']): Promise<PurchaseView> {
  const refs = await engine.checkout(productId);
  expect((await engine.pay(refs)).status).toBe(200);
  return engine.waitForStatus(refs.purchaseId, statuses);
}

/** Headers proving ownership of `of`, signed by `signer`, for `route`, issued at `at`. */
function proof(signer: Keypair, of: string, route: string, at = new Date()): Record<string, string> {
  const message = walletProofMessage(of, route, at);
  const sig = ed25519.sign(new TextEncoder().encode(message), signer.secretKey.slice(0, 32));
  return { 'x-wallet-message': Buffer.from(message, 'utf8').toString('base64'), 'x-wallet-signature': Buffer.from(sig).toString('base64') };
}

async function runHealthCheck(): Promise<void> {
  await engine.temporal.client.workflow.execute('engineHealthCheckWorkflow', {
    taskQueue: engine.config.TEMPORAL_TASK_QUEUE,
    workflowId: `engine-health-check-test-${Date.now()}`,
  });
}

interface EarningsBody {
  totals: {
    settledSales: number;
    settledMicroUsdc: string;
    pendingSales: number;
    pendingMicroUsdc: string;
    clawbackMicroUsdc: string;
    netMicroUsdc: string;
  };
  lines: { kind: string; purchaseId: string; amountMicroUsdc: string | null; txId: string | null; role: string }[];
}

describe('creator earnings and payout notifications', () => {
  let settled: PurchaseView[];
  let expected: bigint;
  const route = `/api/creators/${sharedWallet}/earnings`;

  beforeAll(async () => {
    const a = await engine.createProduct({
      collaborators: [
        { wallet: sharedWallet, role: 'artist', shareBps: 6000 },
        { wallet: wallet(), role: 'producer', shareBps: 4000 },
      ],
    });
    const b = await engine.createProduct({
      priceCents: '1999',
      collaborators: [
        { wallet: wallet(), role: 'singer', shareBps: 7500 },
        { wallet: sharedWallet, role: 'mixer', shareBps: 2500 },
      ],
    });
    settled = [await settle(a.id), await settle(b.id)];
    expected = settled
      .flatMap((p) => p.payouts)
      .filter((p) => p.wallet === sharedWallet)
      .reduce((s, p) => s + BigInt(p.amountMicroUsdc ?? '0'), 0n);
  });

  it("gives the shared collaborator's exact totals, one line per purchase with its transaction", async () => {
    expect(expected).toBeGreaterThan(0n);
    const res = await engine.http('GET', route, undefined, proof(shared, sharedWallet, route));
    expect(res.status).toBe(200);
    const body = (await res.json()) as EarningsBody;
    expect(body.totals).toEqual({
      settledSales: 2,
      settledMicroUsdc: expected.toString(),
      pendingSales: 0,
      pendingMicroUsdc: '0',
      clawbackMicroUsdc: '0',
      netMicroUsdc: expected.toString(),
    });
    expect(body.lines.map((l) => [l.kind, l.purchaseId, l.txId, l.role]).sort()).toEqual(
      settled.map((p) => ['settled', p.purchaseId, p.settlement.txId, p.payouts.find((x) => x.wallet === sharedWallet)?.role]).sort(),
    );
    // The admin route answers the same for any wallet, without a proof.
    const admin = await engine.http('GET', route.replace('/api/', '/admin/'), undefined, engine.adminHeaders);
    expect(((await admin.json()) as EarningsBody).totals).toEqual(body.totals);
  });

  it('exports the same lines as CSV for a period', async () => {
    const csvRoute = `${route}.csv`;
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const res = await engine.http('GET', `${csvRoute}?from=${encodeURIComponent(from)}`, undefined, proof(shared, sharedWallet, csvRoute));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const [header, ...rows] = (await res.text()).trim().split('\r\n');
    const cols = (header ?? '').split(',');
    expect(rows).toHaveLength(2);
    const sum = rows.map((r) => BigInt(r.split(',')[cols.indexOf('amountMicroUsdc')] ?? '0')).reduce((s, v) => s + v, 0n);
    expect(sum).toBe(expected);
    expect(rows.map((r) => r.split(',')[cols.indexOf('txId')]).sort()).toEqual(settled.map((p) => p.settlement.txId).sort());
    // A period before the sales holds none of them.
    const early = await engine.http('GET', `${route}?to=${encodeURIComponent(from)}`, undefined, proof(shared, sharedWallet, route));
    expect(((await early.json()) as EarningsBody).totals.settledSales).toBe(0);
  });

  it.each([
    ['no proof', () => ({})],
    ['an expired proof', () => proof(shared, sharedWallet, route, new Date(Date.now() - 3 * 60_000))],
    ["another wallet's signature", () => proof(other, sharedWallet, route)],
    ['a proof for another route', () => proof(shared, sharedWallet, `${route}.csv`)],
  ])('%s gets 401 unauthorized', async (_name, headers) => {
    const res = await engine.http('GET', route, undefined, headers());
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('unauthorized');
  });

  it('announces every settled payout to the endpoint, signed, once per payout', async () => {
    await runHealthCheck();
    const payouts = settled.flatMap((p) =>
      p.payouts.map((x) => ({ purchaseId: p.purchaseId, wallet: x.wallet, amountMicroUsdc: x.amountMicroUsdc, txId: p.settlement.txId })),
    );
    expect(received).toHaveLength(payouts.length);
    for (const r of received) {
      expect(verifyCreatorWebhookSignature(SECRET, String(r.headers['settlement-signature']), r.body)).toBe(true);
      expect(verifyCreatorWebhookSignature('another-secret-entirely', String(r.headers['settlement-signature']), r.body)).toBe(false);
    }
    const events = received.map(
      (r) =>
        JSON.parse(r.body) as {
          id: string;
          type: string;
          data: { purchaseId: string; wallet: string; amountMicroUsdc: string; txId: string };
        },
    );
    expect(new Set(events.map((e) => e.id)).size).toBe(payouts.length);
    expect(
      events
        .map((e) => ({ purchaseId: e.data.purchaseId, wallet: e.data.wallet, amountMicroUsdc: e.data.amountMicroUsdc, txId: e.data.txId }))
        .sort((x, y) => (x.wallet < y.wallet ? -1 : 1)),
    ).toEqual(payouts.sort((x, y) => (x.wallet < y.wallet ? -1 : 1)));
    expect(events.every((e) => e.type === 'payout.settled')).toBe(true);
    // Delivered rows are not sent again.
    await runHealthCheck();
    expect(received).toHaveLength(payouts.length);
  });
});

describe('clawbacks in the earnings', () => {
  it('a refund after settlement shows as a clawback line and lowers the net', async () => {
    const route = `/api/creators/${sharedWallet}/earnings`;
    const before = ((await (await engine.http('GET', route, undefined, proof(shared, sharedWallet, route))).json()) as EarningsBody).totals;
    const product = await engine.createProduct({
      collaborators: [
        { wallet: sharedWallet, role: 'artist', shareBps: 5000 },
        { wallet: wallet(), role: 'producer', shareBps: 5000 },
      ],
    });
    const refs = await engine.checkout(product.id);
    expect((await engine.pay(refs)).status).toBe(200);
    const view = await engine.waitForStatus(refs.purchaseId, ['settled']);
    const mine = BigInt(view.payouts.find((p) => p.wallet === sharedWallet)?.amountMicroUsdc ?? '0');
    const refund = await engine.devStripe.refund(refs.paymentIntentId);
    expect((await engine.deliver(eventOf(refund.events, 'charge.refunded'))).status).toBe(200);
    await engine.waitForStatus(refs.purchaseId, ['refunded']);

    const body = (await (await engine.http('GET', route, undefined, proof(shared, sharedWallet, route))).json()) as EarningsBody;
    const settledTotal = BigInt(before.settledMicroUsdc) + mine;
    expect(body.totals).toMatchObject({
      settledSales: before.settledSales + 1,
      settledMicroUsdc: settledTotal.toString(),
      clawbackMicroUsdc: mine.toString(),
      netMicroUsdc: (settledTotal - mine).toString(),
    });
    expect(
      body.lines
        .filter((l) => l.purchaseId === refs.purchaseId)
        .map((l) => [l.kind, l.amountMicroUsdc, l.txId])
        .sort(),
    ).toEqual([
      ['clawback', mine.toString(), view.settlement.txId],
      ['settled', mine.toString(), view.settlement.txId],
    ]);
  });
});

describe('pending earnings', () => {
  it('a paid purchase waiting for approval counts as pending with the share its split will pay', async () => {
    const route = `/api/creators/${sharedWallet}/earnings`;
    // Above APPROVAL_THRESHOLD_CENTS ($1,000.00 by default): it waits, fee captured, pool known.
    const product = await engine.createProduct({
      priceCents: '150000',
      collaborators: [
        { wallet: wallet(), role: 'artist', shareBps: 6667 },
        { wallet: sharedWallet, role: 'editor', shareBps: 3333 },
      ],
    });
    const refs = await engine.checkout(product.id);
    expect((await engine.pay(refs)).status).toBe(200);
    const view = await engine.waitForStatus(refs.purchaseId, ['awaiting_approval']);
    const share = splitLargestRemainder(BigInt(view.creatorPoolMicroUsdc ?? '0'), [{ shareBps: 6667 }, { shareBps: 3333 }])[1] ?? 0n;
    expect(share).toBeGreaterThan(0n);
    const body = (await (await engine.http('GET', route, undefined, proof(shared, sharedWallet, route))).json()) as EarningsBody;
    expect(body.totals).toMatchObject({ pendingSales: 1, pendingMicroUsdc: share.toString() });
    expect(body.lines.filter((l) => l.kind === 'pending')).toEqual([
      expect.objectContaining({ purchaseId: refs.purchaseId, amountMicroUsdc: share.toString(), txId: null, role: 'editor' }),
    ]);
    // Rejected, it is pending no more.
    expect((await engine.http('POST', `/admin/purchases/${refs.purchaseId}/reject`, { reason: 'test' }, engine.adminHeaders)).status).toBe(
      202,
    );
    await engine.waitForStatus(refs.purchaseId, ['failed', 'refunded']);
    const after = (await (await engine.http('GET', route, undefined, proof(shared, sharedWallet, route))).json()) as EarningsBody;
    expect(after.totals).toMatchObject({ pendingSales: 0, pendingMicroUsdc: '0' });
  });
});

describe('health alerts', () => {
  const alerts = () =>
    engine.db.alertOutbox.findMany({ where: { kind: { startsWith: 'health_success_rate' } }, orderBy: { createdAt: 'asc' } });
  const metric = async (name: string) => {
    const text = await (await engine.http('GET', '/metrics')).text();
    return text.split('\n').find((l) => l.startsWith(name));
  };

  it('fires the success-rate alert while settlements fail, once, and clears it when they succeed again', async () => {
    const product = await engine.createProduct();
    fault.settlementRejected = true;
    try {
      await settle(product.id, ['failed']);
      await settle(product.id, ['failed']);
    } finally {
      fault.settlementRejected = false;
    }
    await runHealthCheck();
    await runHealthCheck();
    const fired = await alerts();
    expect(fired.map((a) => [a.kind, a.severity, a.dedupeKey])).toEqual([
      ['health_success_rate', 'critical', 'health:success_rate:1:fired'],
    ]);
    expect(fired[0]?.message).toMatch(/success rate/);
    expect(await metric('settlement_health_alert_firing{check="success_rate"}')).toMatch(/ 1$/);
    expect(Number((await metric('settlement_success_ratio '))?.split(' ')[1])).toBeLessThan(0.95);

    // Past the window the failures no longer count; a settlement succeeds.
    await new Promise((r) => setTimeout(r, 15_500));
    await settle(product.id);
    await runHealthCheck();
    await runHealthCheck();
    expect((await alerts()).map((a) => [a.kind, a.severity, a.dedupeKey])).toEqual([
      ['health_success_rate', 'critical', 'health:success_rate:1:fired'],
      ['health_success_rate_resolved', 'info', 'health:success_rate:1:resolved'],
    ]);
    expect(await metric('settlement_health_alert_firing{check="success_rate"}')).toMatch(/ 0$/);
    expect(await metric('settlement_success_ratio ')).toBe('settlement_success_ratio 1');
  }, 120_000);
});
