/** A Map that keeps at most `limit` keys: setting a new key past it drops the oldest set. */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super();
  }

  override set(key: K, value: V): this {
    // Oldest first out: a Map iterates in insertion order, and a key set again moves to the end.
    this.delete(key);
    if (this.size >= this.limit) this.delete(this.keys().next().value ?? key);
    return super.set(key, value);
  }
}
