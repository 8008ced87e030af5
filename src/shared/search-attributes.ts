import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** DESIGN §2: upserted at every step so admins can filter runs in the Temporal UI. */
export const SA = {
  PurchaseId: defineSearchAttributeKey('PurchaseId', SearchAttributeType.KEYWORD),
  PurchaseStatus: defineSearchAttributeKey('PurchaseStatus', SearchAttributeType.KEYWORD),
  ProductId: defineSearchAttributeKey('ProductId', SearchAttributeType.KEYWORD),
  SettlementRail: defineSearchAttributeKey('SettlementRail', SearchAttributeType.KEYWORD),
  BuyerWallet: defineSearchAttributeKey('BuyerWallet', SearchAttributeType.KEYWORD),
  GrossCents: defineSearchAttributeKey('GrossCents', SearchAttributeType.INT),
} as const;

export const SEARCH_ATTRIBUTE_KEYS = Object.values(SA);

/** `--search-attribute` arguments for `temporal server start-dev`, and the production command. */
export const searchAttributeCliArgs = (): string[] =>
  SEARCH_ATTRIBUTE_KEYS.flatMap((k) => ['--search-attribute', `${k.name}=${k.type === SearchAttributeType.INT ? 'Int' : 'Keyword'}`]);
