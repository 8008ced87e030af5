/**
 * The status read model (`GET /api/purchases/:id`), cached in the API process and dropped per
 * purchase when PostgreSQL announces a change (the `purchase_changed` notification, sent as the
 * writing transaction commits). A poll of an unchanged purchase is then answered from memory.
 *
 * It never serves what it cannot vouch for: while the change feed is not listening nothing is cached
 * and every read goes to PostgreSQL; when the feed reconnects everything cached is dropped; a load
 * that a change overtook is not kept. A read can trail a commit only by the time the notification
 * takes to arrive (a fraction of a millisecond on one host). Concurrent misses for one purchase share
 * one query.
 */
import type { ChangeFeed } from '../db/change-feed';
import { CHANGE_CHANNELS } from '../db/change-feed';

export interface PurchaseView {
  version: number;
  json: string;
}

interface Flight {
  stale: boolean;
  promise: Promise<PurchaseView | undefined>;
}

export interface PurchaseViewCache {
  /** the view, from memory when it can vouch for it, else from PostgreSQL */
  get(purchaseId: string): Promise<PurchaseView | undefined>;
  /** whether reads are being answered from memory now (enabled and the change feed listening) */
  readonly serving: boolean;
  readonly size: number;
  close(): void;
}

export function createPurchaseViewCache(opts: {
  load: (purchaseId: string) => Promise<PurchaseView | undefined>;
  feed: ChangeFeed;
  /** purchases kept at most (least recently read dropped first); 0 disables the cache */
  maxEntries: number;
  /** each read, by where its answer came from (a shared in-flight load counts as database) */
  onRead?: (source: 'memory' | 'database') => void;
}): PurchaseViewCache {
  const { load, feed, maxEntries, onRead } = opts;
  // A Map iterates in insertion order: re-inserting on a hit makes the first key the least recent.
  const entries = new Map<string, PurchaseView>();
  const flights = new Map<string, Flight>();

  function drop(purchaseId: string): void {
    entries.delete(purchaseId);
    const flight = flights.get(purchaseId);
    if (flight) {
      flight.stale = true;
      flights.delete(purchaseId);
    }
  }
  function dropAll(): void {
    entries.clear();
    for (const flight of flights.values()) flight.stale = true;
    flights.clear();
  }
  const unsubscribe = feed.subscribe(CHANGE_CHANNELS.purchaseChanged, { notify: drop, reset: dropAll });

  function keep(purchaseId: string, view: PurchaseView): void {
    entries.set(purchaseId, view);
    if (entries.size > maxEntries) {
      const oldest = entries.keys().next();
      if (!oldest.done) entries.delete(oldest.value);
    }
  }

  return {
    get(purchaseId) {
      if (!this.serving) {
        onRead?.('database');
        return load(purchaseId);
      }
      const hit = entries.get(purchaseId);
      if (hit) {
        entries.delete(purchaseId);
        entries.set(purchaseId, hit);
        onRead?.('memory');
        return Promise.resolve(hit);
      }
      onRead?.('database');
      const pending = flights.get(purchaseId);
      if (pending) return pending.promise;
      const flight: Flight = {
        stale: false,
        promise: load(purchaseId).finally(() => {
          if (flights.get(purchaseId) === flight) flights.delete(purchaseId);
        }),
      };
      flights.set(purchaseId, flight);
      void flight.promise.then(
        (view) => {
          // Not found is not kept: the purchase may be created a moment later.
          if (view && !flight.stale && feed.listening) keep(purchaseId, view);
        },
        () => undefined,
      );
      return flight.promise;
    },
    get serving() {
      return maxEntries > 0 && feed.listening;
    },
    get size() {
      return entries.size;
    },
    close() {
      unsubscribe();
      dropAll();
    },
  };
}
