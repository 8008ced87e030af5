export {
  assertSettlePurchaseSplits,
  buildSettlePurchaseInstruction,
  createSettlementProgram,
  encodeSettlePurchaseData,
  findNftMintAddress,
  findReceiptAddress,
  purchaseIdSeed,
  settlePurchaseAccounts,
  sharesFromAmounts,
  type SettlePurchaseAccounts,
  type SettlePurchaseParams,
  type SettlePurchaseSplit,
  type SettlementProgram,
} from './client';
export { SETTLEMENT_IDL, SettlementProgramError } from './idl';
export { createSolanaAnchorRail, customErrorCode, programIdFromConfig, settlementFailure, type SolanaAnchorRailDeps } from './rail';
