/**
 * PostgreSQL's change notifications (`src/db/change-feed.ts`: the triggers of migration
 * `change_notifications`, and the API's announcement of a stored webhook event) and the status
 * cache that trusts them (`src/services/purchase-view-cache.ts`): a write drops the cached view, a
 * load overtaken by a write is not kept, and while the feed's connection is gone nothing is served
 * from memory.
 */
import { Keypair } from '@solana/web3.js';
import { Client } from 'pg';
import { checkoutSessionCompleted, newPaymentIntentId } from '../../dev/stripe-test-events';
import { CHANGE_CHANNELS, createChangeFeed, type ChangeFeed } from '../../src/db/change-feed';
import type { Db } from '../../src/db/client';
import { createPendingPurchase, createProduct, purchaseView, setPurchaseStatus } from '../../src/db/purchases';
import { createLogger } from '../../src/logger';
import { createPurchaseViewCache, type PurchaseView } from '../../src/services/purchase-view-cache';
import { createStripeEventHandler } from '../../src/services/stripe-events';
import { PurchaseStatus, Rail } from '../../src/shared/status';
import { freshDb } from '../helpers/db';

const logger = createLogger({ level: 'silent', name: 'test' });
let db: Db;
let url: string;
let feed: ChangeFeed;
let productId: string;

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every payload seen on a channel, in order. */
function record(channel: (typeof CHANGE_CHANNELS)[keyof typeof CHANGE_CHANNELS]) {
  const seen: string[] = [];
  let resets = 0;
  feed.subscribe(channel, { notify: (p) => seen.push(p), reset: () => (resets += 1) });
  return { seen, resets: () => resets };
}

async function newPurchase(): Promise<string> {
  const p = await createPendingPurchase(db, {
    id: `pur_feed${Date.now()}${Math.floor(Math.random() * 1e6)}`,
    productId,
    buyerWallet: Keypair.generate().publicKey.toBase58(),
    rail: Rail.Solana,
    grossCents: 2500n,
    checkoutSessionId: `cs_feed${Date.now()}${Math.floor(Math.random() * 1e6)}`,
  });
  return p.id;
}

beforeAll(async () => {
  ({ db, url } = await freshDb());
  feed = createChangeFeed(url, { logger, reconnectMs: 100 });
  const product = await createProduct(db, {
    title: 'Feed',
    priceCents: 2500n,
    currency: 'usd',
    rail: Rail.Solana,
    collaborators: [{ wallet: Keypair.generate().publicKey.toBase58(), role: 'artist', shareBps: 10_000 }],
  });
  productId = product.id;
  await until('the feed to listen', () => feed.listening);
});
afterAll(async () => {
  await feed?.close();
  await db?.$disconnect();
});

it('announces a purchase update and a stored webhook event, with their ids', async () => {
  const purchases = record(CHANGE_CHANNELS.purchaseChanged);
  const events = record(CHANGE_CHANNELS.webhookEventStored);
  const id = await newPurchase();
  await setPurchaseStatus(db, id, PurchaseStatus.Paid);
  await until('the purchase notification', () => purchases.seen.includes(id));

  // The API's side of the outbox: it stores, and another process acts (so it announces).
  const api = createStripeEventHandler({
    db,
    workflows: {
      start: () => Promise.reject(new Error('the API acts on nothing here')),
      abort: () => Promise.reject(new Error('the API acts on nothing here')),
    },
    logger,
    actOnReceipt: false,
  });
  const event = checkoutSessionCompleted({
    purchaseId: id,
    checkoutSessionId: `cs_${id}`,
    paymentIntentId: newPaymentIntentId(),
    amountCents: 2500n,
  });
  const body = JSON.stringify(event);
  await expect(api.receive(event, body)).resolves.toBe('queued');
  await until('the webhook event notification', () => events.seen.includes(event.id));
  // Only the first delivery announces (a duplicate stores nothing), and the insert itself sends
  // nothing: the announcement is a statement of its own after the commit.
  await expect(api.receive(event, body)).resolves.toBe('queued');
  await api.idle();
  await setPurchaseStatus(db, id, PurchaseStatus.FeeCaptured);
  await until('the second purchase notification', () => purchases.seen.filter((p) => p === id).length === 2);
  expect(events.seen.filter((e) => e === event.id)).toHaveLength(1);
});

it('serves a view from memory until a write to its purchase, then loads it again', async () => {
  let loads = 0;
  const cache = createPurchaseViewCache({
    load: (id) => {
      loads += 1;
      return purchaseView(db, id);
    },
    feed,
    maxEntries: 100,
  });
  const changed = record(CHANGE_CHANNELS.purchaseChanged);
  const id = await newPurchase();
  const first = await cache.get(id);
  await cache.get(id);
  await cache.get(id);
  expect(loads).toBe(1);
  expect(JSON.parse(first?.json ?? '{}')).toMatchObject({ status: PurchaseStatus.PendingPayment });

  await setPurchaseStatus(db, id, PurchaseStatus.Paid);
  await until('the notification', () => changed.seen.includes(id));
  const after = await cache.get(id);
  expect(loads).toBe(2);
  expect(JSON.parse(after?.json ?? '{}')).toMatchObject({ status: PurchaseStatus.Paid });
  expect(after?.version).toBeGreaterThan(first?.version ?? Infinity);

  // An unknown purchase is not kept: it may be created a moment later.
  expect(await cache.get('pur_nobody')).toBeUndefined();
  expect(await cache.get('pur_nobody')).toBeUndefined();
  expect(loads).toBe(4);
  cache.close();
});

it('does not keep a load that a write overtook, and shares one load between concurrent misses', async () => {
  const id = await newPurchase();
  let release: (() => void) | undefined;
  let loads = 0;
  const cache = createPurchaseViewCache({
    load: async (purchaseId) => {
      loads += 1;
      const view = await purchaseView(db, purchaseId);
      await new Promise<void>((r) => (release = r));
      return view;
    },
    feed,
    maxEntries: 100,
  });
  const changed = record(CHANGE_CHANNELS.purchaseChanged);
  const a = cache.get(id);
  const b = cache.get(id);
  await until('the load to start', () => release !== undefined);
  expect(loads).toBe(1);
  // The row changes after the load read it and before its answer is kept.
  await setPurchaseStatus(db, id, PurchaseStatus.Paid);
  await until('the notification', () => changed.seen.includes(id));
  release?.();
  const [va, vb] = await Promise.all([a, b]);
  expect(va).toBe(vb);
  expect(JSON.parse(va?.json ?? '{}')).toMatchObject({ status: PurchaseStatus.PendingPayment });
  expect(cache.size).toBe(0);
  cache.close();
});

it('keeps at most maxEntries views, dropping the least recently read', async () => {
  const loaded: string[] = [];
  const cache = createPurchaseViewCache({
    load: (id): Promise<PurchaseView> => {
      loaded.push(id);
      return Promise.resolve({ version: 1, json: JSON.stringify({ purchaseId: id }) });
    },
    feed,
    maxEntries: 2,
  });
  await cache.get('a');
  await cache.get('b');
  await cache.get('a'); // a is now the most recent
  await cache.get('c'); // drops b
  await cache.get('a');
  await cache.get('b');
  expect(loaded).toEqual(['a', 'b', 'c', 'b']);
  expect(cache.size).toBe(2);
  cache.close();
});

it('serves nothing from memory while the feed cannot listen', async () => {
  const deaf = createChangeFeed('postgresql://nobody@127.0.0.1:1/none', { logger, reconnectMs: 60_000 });
  let loads = 0;
  const cache = createPurchaseViewCache({
    load: (id) => {
      loads += 1;
      return purchaseView(db, id);
    },
    feed: deaf,
    maxEntries: 100,
  });
  const id = await newPurchase();
  await cache.get(id);
  await cache.get(id);
  expect(loads).toBe(2);
  expect(cache.serving).toBe(false);
  expect(cache.size).toBe(0);
  cache.close();
  await deaf.close();
});

it('when its connection drops, the feed tells its subscribers to drop everything, and listens again', async () => {
  const cache = createPurchaseViewCache({ load: (id) => purchaseView(db, id), feed, maxEntries: 100 });
  const changed = record(CHANGE_CHANNELS.purchaseChanged);
  const id = await newPurchase();
  await cache.get(id);
  expect(cache.size).toBe(1);
  const resetsBefore = changed.resets();

  const admin = new Client({ connectionString: url });
  await admin.connect();
  try {
    const killed = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'`,
    );
    expect(killed.rowCount).toBe(1);
  } finally {
    await admin.end();
  }
  await until('the feed to notice', () => changed.resets() > resetsBefore);
  expect(cache.size).toBe(0);

  await until('the feed to listen again', () => feed.listening);
  expect(cache.serving).toBe(true);
  await setPurchaseStatus(db, id, PurchaseStatus.FeeCaptured);
  await until('a notification after the reconnect', () => changed.seen.includes(id));
  expect(JSON.parse((await cache.get(id))?.json ?? '{}')).toMatchObject({ status: PurchaseStatus.FeeCaptured });
  cache.close();
});
