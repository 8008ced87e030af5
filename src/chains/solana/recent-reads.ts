import { BoundedMap } from '../../shared/bounded-map';

/**
 * How long one answer serves every settlement of a rail: the latest blockhash for half a second (a
 * few slots of its 150), the recent priority fees for a second, the rent for a size for ten minutes.
 * At ten settlements a second that is several RPC calls fewer per settlement.
 */
export const RECENT_READ_TTL_MS = { blockhash: 500, priorityFees: 1_000, rent: 10 * 60_000 } as const;

/**
 * Chain reads whose answer stays good for a while, shared across settlements: the rent for an
 * account size, the recent priority fees, the latest blockhash. Within `ttlMs` of a read every
 * caller for the same key gets its answer, callers while it is in flight share the one request, and
 * a failed read is forgotten at once, so the next caller reads again. A settlement made seconds
 * apart from another needs no fresher answer than this: a blockhash stays valid for 150 blocks, fees
 * are a percentile over the last 150 slots, and rent only changes with the cluster's rent sysvar.
 */
export class RecentReads<K, V> {
  private readonly entries: BoundedMap<K, { readAt: number; value: Promise<V> }>;

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    /** distinct keys kept at most; past it the oldest is dropped */
    limit = 1_024,
  ) {
    this.entries = new BoundedMap(limit);
  }

  get(key: K, read: () => Promise<V>): Promise<V> {
    const at = this.now();
    const hit = this.entries.get(key);
    // The age counts from when the request was sent: its answer is at least that fresh.
    if (hit && at - hit.readAt < this.ttlMs) return hit.value;
    const entry = { readAt: at, value: read() };
    this.entries.set(key, entry);
    entry.value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return entry.value;
  }
}
