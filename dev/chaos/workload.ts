/**
 * What the chaos run buys: a catalogue of products on both rails with awkward share tables, and a
 * seeded plan of purchases (arrival time, refunds and disputes at random moments, approvals).
 */
import { Keypair } from '@solana/web3.js';
import { Wallet } from 'ethers';
import { computeFees } from '../../src/shared/money';
import { Rail } from '../../src/shared/status';
import type { Random } from './random';

/** Share tables in basis points: 1 to 12 collaborators, remainders that do not divide evenly. */
const SHARE_TABLES: readonly (readonly number[])[] = [
  [10_000],
  [3333, 3333, 3334],
  [1, 9999],
  [6000, 3000, 1000],
  [5000, 2500, 1250, 1250],
  [1429, 1429, 1429, 1429, 1429, 1429, 1426],
  [...Array.from({ length: 11 }, () => 833), 837],
];

export interface ProductSpec {
  key: string;
  rail: Rail;
  priceCents: bigint;
  shares: readonly number[];
  wallets: string[];
  /** priced above the approval threshold: the run approves or rejects it */
  needsApproval: boolean;
}

type Abort = { kind: 'refund' | 'dispute'; moment: 'before_pivot' | 'after_settlement'; delayMs: number };

export interface PurchasePlan {
  index: number;
  product: ProductSpec;
  /** ms after the load starts */
  arrivalMs: number;
  abort: Abort | null;
  decision: 'approve' | 'reject' | null;
}

export const newWallet = (rail: Rail): string =>
  rail === Rail.Evm ? Wallet.createRandom().address : Keypair.generate().publicKey.toBase58();

/**
 * Every share table on every rail, at prices spread over `prices`; plus, for each rail, one product
 * above the approval threshold.
 */
export function catalogue(
  random: Random,
  rails: readonly Rail[],
  prices: readonly bigint[],
  approvalPriceCents: bigint | null,
): ProductSpec[] {
  const products: ProductSpec[] = [];
  for (const rail of rails) {
    SHARE_TABLES.forEach((shares, i) => {
      const priceCents = prices[i % prices.length] ?? prices[0] ?? 2500n;
      products.push({
        key: `${rail}-${shares.length}x-${i}`,
        rail,
        priceCents,
        shares,
        wallets: shares.map(() => newWallet(rail)),
        needsApproval: false,
      });
    });
    if (approvalPriceCents !== null) {
      const shares = random.pick(SHARE_TABLES);
      products.push({
        key: `${rail}-approval`,
        rail,
        priceCents: approvalPriceCents,
        shares,
        wallets: shares.map(() => newWallet(rail)),
        needsApproval: true,
      });
    }
  }
  return products;
}

export interface PlanOptions {
  purchases: number;
  ratePerSecond: number;
  /** share of purchases refunded or disputed */
  abortShare: number;
  /** share of purchases on the approval products */
  approvalShare: number;
  /** share of approval purchases rejected */
  rejectShare: number;
}

export function planPurchases(random: Random, products: readonly ProductSpec[], opts: PlanOptions): PurchasePlan[] {
  const ordinary = products.filter((p) => !p.needsApproval);
  const approval = products.filter((p) => p.needsApproval);
  const gapMs = 1000 / opts.ratePerSecond;
  return Array.from({ length: opts.purchases }, (_, index) => {
    const product = approval.length > 0 && random.chance(opts.approvalShare) ? random.pick(approval) : random.pick(ordinary);
    const abort: Abort | null = random.chance(opts.abortShare)
      ? {
          kind: random.chance(0.6) ? 'refund' : 'dispute',
          moment: random.chance(0.5) ? 'before_pivot' : 'after_settlement',
          delayMs: random.int(0, 2_000),
        }
      : null;
    return {
      index,
      product,
      arrivalMs: Math.round(index * gapMs),
      abort,
      decision: product.needsApproval ? (random.chance(opts.rejectShare) ? 'reject' : 'approve') : null,
    };
  });
}

/** The creator pool a purchase of `product` fronts, in micro-USDC, with Stripe's card rate as the fee estimate. */
export function expectedPoolMicroUsdc(product: ProductSpec, platformFeeBps: number): bigint {
  const fee = (product.priceCents * 29n + 500n) / 1000n + 30n;
  return computeFees(product.priceCents, fee, platformFeeBps).creatorPoolMicroUsdc;
}
