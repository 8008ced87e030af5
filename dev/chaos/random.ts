/** The chaos run's one source of randomness: seeded, so a failing run can be repeated with --seed. */
import prand from 'pure-rand';

export class Random {
  private readonly rng: prand.RandomGenerator;

  constructor(readonly seed: number) {
    this.rng = prand.xoroshiro128plus(seed);
  }

  /** a float in [0, 1) */
  next(): number {
    return prand.unsafeUniformIntDistribution(0, 0x7fffffff, this.rng) / 0x80000000;
  }

  /** an integer in [min, max] */
  int(min: number, max: number): number {
    return prand.unsafeUniformIntDistribution(min, max, this.rng);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(0, items.length - 1)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i -= 1) {
      const j = this.int(0, i);
      [items[i], items[j]] = [items[j] as T, items[i] as T];
    }
    return items;
  }

  /** An independent generator for one concern, so adding draws in one place does not reshuffle another. */
  fork(): Random {
    return new Random(this.int(0, 0x7fffffff));
  }
}
