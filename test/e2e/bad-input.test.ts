import { Keypair } from '@solana/web3.js';
import { checkoutSessionCompleted } from '../../dev/stripe-test-events';
import { startEngine, type Engine } from '../helpers/engine';

let engine: Engine;
let productId: string;
beforeAll(async () => {
  engine = await startEngine();
  productId = (await engine.createProduct()).id;
});
afterAll(async () => {
  await engine?.close();
});

/** Row counts of every table a bad request could touch. */
async function snapshot() {
  const d = engine.db;
  return Promise.all([
    d.product.count(),
    d.purchase.count(),
    d.webhookEvent.count(),
    d.journalTransaction.count(),
    d.treasuryHold.count(),
    d.collaboratorPayment.count(),
  ]);
}

const wallet = () => Keypair.generate().publicKey.toBase58();

describe('webhooks', () => {
  it.each([
    ['a forged signature', { secret: 'whsec_forged_by_someone_else' }, /signature verification failed/],
    ['a stale timestamp', { timestampSec: Math.floor(Date.now() / 1000) - 301 }, /outside the tolerance/],
  ])('%s gets 400 invalid_signature and changes nothing', async (_name, opts, message) => {
    const refs = await engine.checkout(productId);
    const before = await snapshot();
    const res = await engine.deliver(checkoutSessionCompleted(refs), opts);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe('invalid_signature');
    expect(body.error.message).toMatch(message);
    expect(await snapshot()).toEqual(before);
  });

  it('a missing signature header gets 400', async () => {
    const res = await engine.http('POST', '/webhooks/stripe', '{"id":"evt_x"}');
    expect(res.status).toBe(400);
  });

  it('an oversize body gets 413 before any work', async () => {
    const before = await snapshot();
    const res = await engine.http('POST', '/webhooks/stripe', 'x'.repeat(300 * 1024), { 'stripe-signature': 't=1,v1=00' });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('payload_too_large');
    expect(await snapshot()).toEqual(before);
  });

  it('an unknown event type is acknowledged and ignored', async () => {
    const completed = checkoutSessionCompleted(await engine.checkout(productId));
    const res = await engine.deliver({ ...completed, type: 'customer.created' } as never);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ outcome: 'queued' });
    expect(await engine.outcome(completed.id)).toBe('ignored');
  });
});

describe('public API', () => {
  it.each([
    ['malformed JSON', '{"productId": ', 400, 'validation_failed'],
    ['an unknown product', { productId: 'prod_doesnotexist', buyerWallet: wallet() }, 404, 'not_found'],
    ['an invalid wallet', () => ({ productId, buyerWallet: 'not-a-wallet' }), 400, 'invalid_wallet'],
    [
      'an EVM address on a Solana product',
      () => ({ productId, buyerWallet: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' }),
      400,
      'invalid_wallet',
    ],
    ['an unexpected field', () => ({ productId, buyerWallet: wallet(), priceCents: '1' }), 400, 'validation_failed'],
  ])('checkout with %s is refused with a typed 4xx and changes nothing', async (_name, body, status, type) => {
    const before = await snapshot();
    const payload = typeof body === 'function' ? body() : body;
    const res = await engine.http('POST', '/api/checkout/sessions', payload);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe(type);
    expect(await snapshot()).toEqual(before);
  });

  it('an unknown purchase id gets 404 with a typed body', async () => {
    const res = await engine.http('GET', '/api/purchases/pur_00000000000000000000');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { type: 'not_found', message: 'purchase pur_00000000000000000000 not found' } });
  });

  it('serves the status with an ETag and answers 304 to If-None-Match', async () => {
    const refs = await engine.checkout(productId);
    const first = await engine.http('GET', `/api/purchases/${refs.purchaseId}`);
    const etag = first.headers.get('etag') ?? '';
    expect(etag).toMatch(/^W\//);
    const again = await engine.http('GET', `/api/purchases/${refs.purchaseId}`, undefined, { 'if-none-match': etag });
    expect(again.status).toBe(304);
  });
});

describe('admin products', () => {
  const collaborators = (shares: number[]) => shares.map((shareBps) => ({ wallet: wallet(), role: 'artist', shareBps }));
  it.each([
    ['shares that do not sum to 10,000', { collaborators: collaborators([5000, 4000]) }, 'invalid_splits'],
    ['a non-integer price', { priceCents: '12.50' }, 'validation_failed'],
    ['a negative price', { priceCents: '-100' }, 'validation_failed'],
    ['a numeric (not string) price', { priceCents: 2500 }, 'validation_failed'],
    ['a zero price', { priceCents: '0' }, 'validation_failed'],
    ['an unknown rail', { rail: 'bitcoin' }, 'validation_failed'],
    ['a rail this deployment has not configured (no SETTLEMENT_PROGRAM_ID)', { rail: 'solana-anchor' }, 'validation_failed'],
    [
      'more collaborators than one Solana transaction carries',
      { collaborators: collaborators([...Array(12).fill(800), 400]) },
      'invalid_splits',
    ],
    ['an invalid collaborator wallet', { collaborators: [{ wallet: 'nope', role: 'artist', shareBps: 10_000 }] }, 'invalid_wallet'],
    [
      'a fractional share',
      {
        collaborators: [
          { wallet: wallet(), role: 'a', shareBps: 5000.5 },
          { wallet: wallet(), role: 'b', shareBps: 4999.5 },
        ],
      },
      'validation_failed',
    ],
  ])('a product with %s is refused with a typed 400 and nothing is created', async (_name, override, type) => {
    const before = await snapshot();
    const res = await engine.http(
      'POST',
      '/admin/products',
      { title: 'Bad', priceCents: '2500', rail: 'solana', collaborators: collaborators([10_000]), ...override },
      engine.adminHeaders,
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe(type);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses calls without a valid token', async () => {
    expect((await engine.http('GET', '/admin/products')).status).toBe(401);
    expect((await engine.http('GET', '/admin/products', undefined, { authorization: 'Bearer wrong-token-value' })).status).toBe(401);
  });
});

describe('creator earnings', () => {
  const w = wallet();
  it.each([
    ['an invalid wallet', '/admin/creators/not-a-wallet/earnings', 400, 'invalid_wallet'],
    ['a malformed `from`', `/admin/creators/${w}/earnings?from=yesterday`, 400, 'validation_failed'],
    ['`from` after `to`', `/admin/creators/${w}/earnings?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z`, 400, 'validation_failed'],
    [
      'a period over 366 days',
      `/admin/creators/${w}/earnings.csv?from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`,
      400,
      'validation_failed',
    ],
    ['an unknown query parameter', `/admin/creators/${w}/earnings?page=2`, 400, 'validation_failed'],
    ['no token on the admin route', `/admin/creators/${w}/earnings`, 401, 'unauthorized'],
    ['an invalid wallet on the public route', '/api/creators/not-a-wallet/earnings', 400, 'invalid_wallet'],
    ['no ownership proof', `/api/creators/${w}/earnings`, 401, 'unauthorized'],
  ])('%s gets a typed 4xx', async (name, path, status, type) => {
    const res = await engine.http(
      'GET',
      path,
      undefined,
      name.startsWith('no token') || path.startsWith('/api/') ? {} : engine.adminHeaders,
    );
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe(type);
  });

  it('a garbled ownership proof gets 401', async () => {
    const res = await engine.http('GET', `/api/creators/${w}/earnings`, undefined, {
      'x-wallet-message': 'bm90IGEgcHJvb2Y=',
      'x-wallet-signature': 'AAAA',
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { type: string; message: string } }).error.message).toMatch(/format/);
  });
});
