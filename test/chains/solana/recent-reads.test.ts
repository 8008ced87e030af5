import { RecentReads } from '../../../src/chains/solana/recent-reads';

function clock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('RecentReads', () => {
  it('serves one answer to every caller within the ttl, then reads again', async () => {
    const c = clock();
    const reads = new RecentReads<string, number>(500, c.now);
    let n = 0;
    const read = () => Promise.resolve((n += 1));
    expect(await reads.get('k', read)).toBe(1);
    c.advance(499);
    expect(await reads.get('k', read)).toBe(1);
    c.advance(1);
    expect(await reads.get('k', read)).toBe(2);
    expect(n).toBe(2);
  });

  it('shares one request among callers while it is in flight', async () => {
    const reads = new RecentReads<string, string>(500, clock().now);
    let release: (v: string) => void = () => undefined;
    const read = jest.fn(() => new Promise<string>((resolve) => (release = resolve)));
    const both = Promise.all([reads.get('k', read), reads.get('k', read)]);
    release('answer');
    await expect(both).resolves.toEqual(['answer', 'answer']);
    expect(read).toHaveBeenCalledTimes(1);
  });

  it('forgets a failed read at once, so the next caller reads again', async () => {
    const reads = new RecentReads<string, number>(60_000, clock().now);
    await expect(reads.get('k', () => Promise.reject(new Error('503')))).rejects.toThrow('503');
    await expect(reads.get('k', () => Promise.resolve(7))).resolves.toBe(7);
  });

  it('keeps answers per key and drops the oldest key past its limit', async () => {
    const reads = new RecentReads<number, number>(60_000, clock().now, 2);
    const read = jest.fn((k: number) => Promise.resolve(k * 10));
    await reads.get(1, () => read(1));
    await reads.get(2, () => read(2));
    await reads.get(3, () => read(3));
    expect(await reads.get(2, () => read(2))).toBe(20);
    expect(await reads.get(1, () => read(1))).toBe(10);
    expect(read.mock.calls.map(([k]) => k)).toEqual([1, 2, 3, 1]);
  });
});
