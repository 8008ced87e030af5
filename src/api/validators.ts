import { z } from 'zod';
import { PURCHASE_ID_PATTERN } from '../shared/ids';
import { RAILS } from '../shared/status';

/** Money on the wire: a decimal string of a positive integer. */
export const centsString = z.string().regex(/^[1-9]\d{0,15}$/, 'must be a positive integer number of cents, as a decimal string');
export const microString = z.string().regex(/^[1-9]\d{0,24}$/, 'must be a positive integer amount, as a decimal string');

export const createProductBody = z.object({
  title: z.string().trim().min(1).max(120),
  priceCents: centsString,
  currency: z.string().regex(/^[a-z]{3}$/).default('usd'),
  rail: z.enum(RAILS),
  nftSymbol: z.string().regex(/^[A-Z0-9]{1,10}$/).optional(),
  nftUri: z.string().url().max(200).optional(),
  collaborators: z
    .array(z.object({ wallet: z.string().trim().min(1).max(100), role: z.string().trim().min(1).max(40), shareBps: z.number().int().min(1).max(10_000) }))
    .min(1)
    .max(64),
}).strict();
export type CreateProductBody = z.infer<typeof createProductBody>;

export const checkoutBody = z.object({
  productId: z.string().min(1).max(64),
  buyerWallet: z.string().trim().min(1).max(100),
}).strict();

export const purchaseIdParam = z.object({ purchaseId: z.string().regex(PURCHASE_ID_PATTERN, 'not a purchase id') });

export const actionBody = z.object({ reason: z.string().trim().max(500).optional() }).strict().default({});

export const replenishedBody = z.object({
  rail: z.enum(RAILS).default('solana'),
  amountMicroUsdc: microString,
  reference: z.string().trim().min(1).max(120),
}).strict();
