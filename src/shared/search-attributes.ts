import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

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

/** `--search-attribute` arguments for `temporal server start-dev`, and the production command. */
export const searchAttributeCliArgs = (): string[] =>
  SEARCH_ATTRIBUTE_KEYS.flatMap((k) => ['--search-attribute', `${k.name}=${k.type === SearchAttributeType.INT ? 'Int' : 'Keyword'}`]);
