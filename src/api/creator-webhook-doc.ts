/** The outgoing `payout.settled` webhook as documented in openapi.yaml (src/activities/creator-webhooks.ts sends it). */
import { z } from 'zod';

export const CREATOR_WEBHOOK_SIGNATURE_DOC = [
  'One POST per settled payout and endpoint, from the notification outbox, retried with exponential backoff (30 s doubling, at most an hour apart) until a 2xx or CREATOR_WEBHOOK_MAX_ATTEMPTS.',
  'Verify it as you would a Stripe webhook: split `Settlement-Signature` into `t` and `v1`, compute HMAC-SHA256 over `"<t>.<raw body>"` with CREATOR_WEBHOOK_SECRET,',
  'compare it with `v1` in constant time and refuse a `t` older than your tolerance (e.g. 5 minutes). Deduplicate on `id`: a retry carries the same one.',
].join('\n');

const amount = z.string().regex(/^(0|[1-9]\d*)$/);

export const creatorWebhookPayload = z.strictObject({
  id: z.string().meta({ description: 'evt_payout_<purchaseId>_<position>' }),
  type: z.literal('payout.settled'),
  created: z.iso.datetime(),
  data: z.strictObject({
    purchaseId: z.string(),
    productId: z.string(),
    wallet: z.string(),
    role: z.string(),
    shareBps: z.number().int(),
    amountMicroUsdc: amount,
    rail: z.string(),
    txId: z.string().meta({ description: 'the settlement transaction: Solana signature or EVM hash' }),
    settledAt: z.iso.datetime(),
  }),
});
