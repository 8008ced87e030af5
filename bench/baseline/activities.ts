/** The baseline's activities: the purchase workflow's step names, each doing nothing. */
export function createBaselineActivities() {
  const noop = async (_id: string): Promise<void> => {};
  return {
    loadPurchase: noop,
    markPurchaseStatus: noop,
    captureStripeFee: noop,
    recordFees: noop,
    reserveTreasury: noop,
    settleOnChain: noop,
    recordSettlement: noop,
  };
}

export type BaselineActivities = ReturnType<typeof createBaselineActivities>;
