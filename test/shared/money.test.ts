import { computeFees, splitLargestRemainder, assertValidShares, parseAmount } from '../../src/shared/money';
import { DomainError, ErrorType } from '../../src/shared/errors';

describe('computeFees', () => {
  it('follows docs/architecture.md §3 for the $25.00 dev payment', () => {
    const f = computeFees(2500n, 103n, 1000);
    expect(f).toEqual({
      grossCents: 2500n,
      stripeFeeCents: 103n,
      netCents: 2397n,
      platformFeeCents: 239n, // floor(2397 × 0.1)
      creatorPoolCents: 2158n,
      creatorPoolMicroUsdc: 21_580_000n,
    });
    expect(f.stripeFeeCents + f.platformFeeCents + f.creatorPoolCents).toBe(f.grossCents);
  });

  it('rejects a fee above gross and a non-positive gross', () => {
    expect(() => computeFees(100n, 101n, 1000)).toThrow(DomainError);
    expect(() => computeFees(0n, 0n, 1000)).toThrow(DomainError);
  });
});

describe('splitLargestRemainder', () => {
  it('sums exactly to the pool and gives leftovers to the largest remainders', () => {
    const parts = splitLargestRemainder(100n, [{ shareBps: 3333 }, { shareBps: 3333 }, { shareBps: 3334 }]);
    expect(parts.reduce((a, b) => a + b, 0n)).toBe(100n);
    expect(parts).toEqual([33n, 33n, 34n]);
  });

  it('breaks ties in favour of the earlier collaborator', () => {
    expect(splitLargestRemainder(1n, [{ shareBps: 5000 }, { shareBps: 5000 }])).toEqual([1n, 0n]);
    expect(splitLargestRemainder(5n, [{ shareBps: 2500 }, { shareBps: 2500 }, { shareBps: 2500 }, { shareBps: 2500 }])).toEqual([
      2n,
      1n,
      1n,
      1n,
    ]);
  });

  it('holds the sum for many random pools and share sets', () => {
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 500; i++) {
      const n = 1 + rnd(12);
      const shares = Array.from({ length: n }, () => 1);
      let left = 10_000 - n;
      for (let j = 0; j < n - 1; j++) {
        const take = rnd(left + 1);
        shares[j]! += take;
        left -= take;
      }
      shares[n - 1]! += left;
      const pool = BigInt(rnd(1_000_000_000));
      const parts = splitLargestRemainder(
        pool,
        shares.map((shareBps) => ({ shareBps })),
      );
      expect(parts.reduce((a, b) => a + b, 0n)).toBe(pool);
      parts.forEach((p, j) => expect(p - (pool * BigInt(shares[j]!)) / 10_000n).toBeLessThanOrEqual(1n));
    }
  });
});

describe('assertValidShares', () => {
  it.each([
    [[], 'empty'],
    [[{ shareBps: 5000 }, { shareBps: 4999 }], 'sum 9999'],
    [[{ shareBps: 10_001 }], 'over 10000'],
    [[{ shareBps: 0 }, { shareBps: 10_000 }], 'zero share'],
    [[{ shareBps: 5000.5 }, { shareBps: 4999.5 }], 'fractional'],
  ])('rejects %j (%s)', (shares) => {
    expect(() => assertValidShares(shares)).toThrow(expect.objectContaining({ type: ErrorType.InvalidSplits }));
  });
});

describe('parseAmount', () => {
  it.each(['-1', '1.5', '1e3', '', ' 1', '0x10'])('rejects %j', (v) => {
    expect(() => parseAmount(v)).toThrow(DomainError);
  });
  it('parses integers beyond 2^53 exactly', () => {
    expect(parseAmount('9007199254740993')).toBe(9007199254740993n);
  });
});
