export const PurchaseStatus = {
  PendingPayment: 'pending_payment',
  Paid: 'paid',
  FeeCaptured: 'fee_captured',
  TreasuryReserved: 'treasury_reserved',
  Settling: 'settling',
  Settled: 'settled',
  AwaitingTreasury: 'awaiting_treasury',
  AwaitingApproval: 'awaiting_approval',
  /** the emergency pause is on: the run waits before the on-chain pivot until resume */
  Paused: 'paused',
  Failed: 'failed',
  Refunded: 'refunded',
  Disputed: 'disputed',
} as const;
export type PurchaseStatus = (typeof PurchaseStatus)[keyof typeof PurchaseStatus];
export const PURCHASE_STATUSES = Object.values(PurchaseStatus) as [PurchaseStatus, ...PurchaseStatus[]];

export const Rail = { Solana: 'solana', SolanaAnchor: 'solana-anchor', Evm: 'evm' } as const;
export type Rail = (typeof Rail)[keyof typeof Rail];
export const RAILS = Object.values(Rail) as [Rail, ...Rail[]];
