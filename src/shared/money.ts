/**
 * Integer money. Stripe amounts are cents, USDC is micro-USDC (6 decimals), the ledger counts in
 * micro-USD (1 cent = 10_000). Everything is bigint in code and a decimal string on the wire.
 */
import { DomainError, ErrorType } from './errors';

/** USDC's decimals on both chains: one USDC is 10^6 of the units every amount here counts. */
export const USDC_DECIMALS = 6;
export const BPS_DENOMINATOR = 10_000n;
export const MICRO_PER_CENT = 10_000n;

export function centsToMicro(cents: bigint): bigint {
  return cents * MICRO_PER_CENT;
}

/** Parse a decimal integer string from the wire; rejects signs, decimals, exponents and blanks. */
export function parseAmount(value: string, field = 'amount'): bigint {
  if (!/^\d+$/.test(value)) {
    throw new DomainError(ErrorType.ValidationFailed, `${field} must be a non-negative integer string`);
  }
  return BigInt(value);
}

export interface FeeBreakdown {
  grossCents: bigint;
  stripeFeeCents: bigint;
  netCents: bigint;
  platformFeeCents: bigint;
  creatorPoolCents: bigint;
  creatorPoolMicroUsdc: bigint;
}

/** net = gross − stripeFee; platformFee = floor(net × bps / 10000); pool = net − platformFee. */
export function computeFees(grossCents: bigint, stripeFeeCents: bigint, platformFeeBps: number): FeeBreakdown {
  if (grossCents <= 0n) throw new DomainError(ErrorType.ValidationFailed, 'gross must be positive');
  if (stripeFeeCents < 0n || stripeFeeCents > grossCents) {
    throw new DomainError(ErrorType.ValidationFailed, 'stripe fee must be between 0 and gross');
  }
  const netCents = grossCents - stripeFeeCents;
  const platformFeeCents = (netCents * BigInt(platformFeeBps)) / BPS_DENOMINATOR;
  const creatorPoolCents = netCents - platformFeeCents;
  return {
    grossCents,
    stripeFeeCents,
    netCents,
    platformFeeCents,
    creatorPoolCents,
    creatorPoolMicroUsdc: centsToMicro(creatorPoolCents),
  };
}

export interface Share {
  shareBps: number;
}

/** Shares are whole basis points summing to exactly 10,000. */
export function assertValidShares(shares: readonly Share[]): void {
  if (shares.length === 0) throw new DomainError(ErrorType.InvalidSplits, 'at least one collaborator is required');
  let sum = 0;
  for (const s of shares) {
    if (!Number.isInteger(s.shareBps) || s.shareBps <= 0 || s.shareBps > 10_000) {
      throw new DomainError(ErrorType.InvalidSplits, 'each share must be an integer between 1 and 10000 bps');
    }
    sum += s.shareBps;
  }
  if (sum !== 10_000) throw new DomainError(ErrorType.InvalidSplits, `shares sum to ${sum} bps, not 10000`);
}

/**
 * Largest-remainder split: floor each share, then hand the leftover units one at a time to the
 * largest remainders, ties to the earlier collaborator. The parts always sum to `pool`.
 */
export function splitLargestRemainder(pool: bigint, shares: readonly Share[]): bigint[] {
  assertValidShares(shares);
  if (pool < 0n) throw new DomainError(ErrorType.ValidationFailed, 'pool must be non-negative');
  const parts = shares.map((s) => (pool * BigInt(s.shareBps)) / BPS_DENOMINATOR);
  const remainders = shares.map((s, index) => ({ index, remainder: (pool * BigInt(s.shareBps)) % BPS_DENOMINATOR }));
  let leftover = pool - parts.reduce((a, b) => a + b, 0n);
  remainders.sort((a, b) => (a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1));
  for (const { index } of remainders) {
    if (leftover === 0n) break;
    parts[index] = (parts[index] ?? 0n) + 1n;
    leftover -= 1n;
  }
  return parts;
}

/** Stripe's SDK takes amounts as JS numbers; refuse anything that would lose precision. */
export function toStripeAmount(value: bigint): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new DomainError(ErrorType.ValidationFailed, 'amount is outside the range Stripe accepts');
  }
  return Number(value);
}
