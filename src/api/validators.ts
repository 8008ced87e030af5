import { z } from 'zod';
import { MAX_SOLANA_PAYOUTS } from '../chains/solana/rail';
import { ErrorType } from '../shared/errors';
import { PURCHASE_ID_PATTERN } from '../shared/ids';
import { Rail, RAILS } from '../shared/status';

/*
 * Request schemas. The OpenAPI document is generated from them (src/api/openapi.ts), so every
 * constraint the server enforces on the shape of a request belongs here, where the document states
 * it; checks that need data (a wallet on the curve, shares summing to 10,000, a product that exists)
 * stay in the services and are documented as the 400/404 they answer.
 */

/** Money on the wire: a decimal string of a positive integer that fits the database's int8 columns. */
const centsString = z.string().regex(/^[1-9]\d{0,13}$/, 'must be a positive integer number of cents, as a decimal string');
const microString = z.string().regex(/^[1-9]\d{0,17}$/, 'must be a positive integer amount, as a decimal string');

/** Free text: at most `max` characters and not blank; stored trimmed. */
export const text = (max: number) => z.string().max(max).regex(/\S/, 'must not be blank').trim();

export const SOLANA_WALLET_PATTERN = /^[1-9A-HJ-NP-Za-km-z]{32,44}$/;
export const EVM_WALLET_PATTERN = /^0x[0-9a-fA-F]{40}$/;
const solanaWallet = z
  .string()
  .regex(SOLANA_WALLET_PATTERN, 'must be a base58 Solana address')
  .meta({ description: 'base58 of a 32-byte ed25519 public key on the curve (400 invalid_wallet otherwise)' });
const evmWallet = z
  .string()
  .regex(EVM_WALLET_PATTERN, 'must be a 0x-prefixed 20-byte hex address')
  .meta({ description: 'an EIP-55 checksum is verified when the address is mixed-case; the zero address is refused (400 invalid_wallet)' });
const anyWallet = z
  .string()
  .regex(new RegExp(`${SOLANA_WALLET_PATTERN.source}|${EVM_WALLET_PATTERN.source}`), 'must be a Solana or EVM address')
  .meta({ description: "a base58 Solana address or a 0x EVM address, valid for the product's rail (400 invalid_wallet otherwise)" });

/** The most payouts one settlement transaction carries per rail (Solana: measured in src/chains/solana/rail.ts). */
const MAX_PAYOUTS: Record<Rail, number> = { [Rail.Solana]: MAX_SOLANA_PAYOUTS, [Rail.SolanaAnchor]: 16, [Rail.Evm]: 64 };

const productOn = <R extends Rail>(rail: R, wallet: z.ZodString) =>
  z
    .object({
      title: text(120),
      priceCents: centsString,
      currency: z.enum(['usd']).default('usd').meta({ description: 'payouts are USDC, so products are priced in US dollars' }),
      rail: z.literal(rail),
      nftSymbol: z
        .string()
        .regex(/^[A-Z0-9]{1,10}$/)
        .optional(),
      nftUri: z.url().max(200).optional(),
      collaborators: z
        .array(z.object({ wallet, role: text(40), shareBps: z.number().int().min(1).max(10_000) }).strict())
        .min(1)
        .max(MAX_PAYOUTS[rail])
        .meta({ description: 'shares are basis points summing to exactly 10000 (400 invalid_splits otherwise)' }),
    })
    .strict();

export const createProductBody = z
  .discriminatedUnion('rail', [
    productOn(Rail.Solana, solanaWallet),
    productOn(Rail.SolanaAnchor, solanaWallet),
    productOn(Rail.Evm, evmWallet),
  ])
  .meta({ description: 'a rail this deployment does not run is refused with 400 validation_failed' });

export const checkoutBody = z
  .object({
    productId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'not a product id'),
    buyerWallet: anyWallet,
  })
  .strict();

export const purchaseIdParam = z.object({ purchaseId: z.string().regex(PURCHASE_ID_PATTERN, 'not a purchase id') });

export const actionBody = z
  .object({ reason: z.string().max(500).trim().optional() })
  .strict()
  .default({});

/** The emergency pause: a pause says why (it is audited and shown to everyone who looks); a resume may (actionBody). */
export const pauseBody = z.object({ reason: text(500) }).strict();

export const replenishedBody = z
  .object({
    rail: z.enum(RAILS).default('solana'),
    amountMicroUsdc: microString,
    reference: text(120),
  })
  .strict();

/**
 * Validation issues on these fields keep the stable type their service-level check answers with, so
 * a malformed wallet is `invalid_wallet` whether the pattern or the curve check refuses it.
 */
export function errorTypeOfIssues(issues: readonly z.core.$ZodIssue[]): ErrorType {
  const last = (i: z.core.$ZodIssue) => i.path[i.path.length - 1];
  if (issues.length > 0 && issues.every((i) => last(i) === 'wallet' || last(i) === 'buyerWallet')) return ErrorType.InvalidWallet;
  if (issues.length > 0 && issues.every((i) => i.path.length === 1 && i.path[0] === 'collaborators' && i.code === 'too_big'))
    return ErrorType.InvalidSplits;
  return ErrorType.ValidationFailed;
}
