import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import type { PurchaseStatus, Rail } from './status';

/** Upserted at every step so admins can filter runs in the Temporal UI; registered by the dev stack and the tests. */
export const SA = {
  PurchaseId: defineSearchAttributeKey('PurchaseId', SearchAttributeType.KEYWORD),
  PurchaseStatus: defineSearchAttributeKey('PurchaseStatus', SearchAttributeType.KEYWORD),
  ProductId: defineSearchAttributeKey('ProductId', SearchAttributeType.KEYWORD),
  SettlementRail: defineSearchAttributeKey('SettlementRail', SearchAttributeType.KEYWORD),
  BuyerWallet: defineSearchAttributeKey('BuyerWallet', SearchAttributeType.KEYWORD),
  GrossCents: defineSearchAttributeKey('GrossCents', SearchAttributeType.INT),
} as const;

export const SEARCH_ATTRIBUTE_KEYS = Object.values(SA);

/** Set by the Temporal server itself (never registered or upserted by us): why a run is not progressing. */
export const SYSTEM_SA = {
  TemporalReportedProblems: defineSearchAttributeKey('TemporalReportedProblems', SearchAttributeType.KEYWORD_LIST),
} as const;

// Typed pairs: each value's type follows from its key's (KEYWORD → string, INT → number), so both
// `upsertSearchAttributes` in the workflow and `typedSearchAttributes` at the start take them as they are.

export const purchaseIdAttribute = (purchaseId: string): SearchAttributePair => ({ key: SA.PurchaseId, value: purchaseId });

export const purchaseStatusAttribute = (status: PurchaseStatus): SearchAttributePair => ({ key: SA.PurchaseStatus, value: status });

/**
 * What a purchase run is about, once its purchase is loaded. The order is the order of the upsert
 * command in every recorded history, so it stays as it is.
 */
export function purchaseDetailAttributes(p: {
  purchaseId: string;
  productId: string;
  rail: Rail;
  buyerWallet: string;
  grossCents: string;
}): SearchAttributePair[] {
  return [
    purchaseIdAttribute(p.purchaseId),
    { key: SA.ProductId, value: p.productId },
    { key: SA.SettlementRail, value: p.rail },
    { key: SA.BuyerWallet, value: p.buyerWallet },
    // The SDK takes an INT attribute as a JS number: exact up to 2^53 cents, which no price approaches.
    { key: SA.GrossCents, value: Number(p.grossCents) },
  ];
}

/** `--search-attribute` arguments for `temporal server start-dev`, and the production command. */
export const searchAttributeCliArgs = (): string[] =>
  SEARCH_ATTRIBUTE_KEYS.flatMap((k) => ['--search-attribute', `${k.name}=${k.type === SearchAttributeType.INT ? 'Int' : 'Keyword'}`]);
