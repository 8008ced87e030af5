export {
  assertSettlePurchaseSplits,
  buildSettlePurchaseInstruction,
  createSettlementProgram,
  encodeSettlePurchaseData,
  findNftMintAddress,
  findReceiptAddress,
  purchaseIdSeed,
  sharesFromAmounts,
  type SettlePurchaseParams,
  type SettlePurchaseSplit,
} from './client';
export { SETTLEMENT_IDL, SettlementProgramError } from './idl';
export { createSolanaAnchorRail, customErrorCode, programIdFromConfig, settlementFailure } from './rail';
