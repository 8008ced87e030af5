/**
 * Why a purchase waits for an admin's approval: a risk limit it went over (checked in the same
 * database transaction as its treasury hold), or a gross above APPROVAL_THRESHOLD_CENTS.
 * Sandbox-safe: the workflow and the API both read these.
 */
export const RiskReason = {
  DailyVolume: 'risk_daily_volume',
  BuyerVelocity: 'risk_buyer_velocity',
} as const;
export type RiskReason = (typeof RiskReason)[keyof typeof RiskReason];
export const RISK_REASONS = Object.values(RiskReason) as [RiskReason, ...RiskReason[]];

export const ApprovalReason = { ...RiskReason, AboveThreshold: 'approval_threshold' } as const;
export type ApprovalReason = (typeof ApprovalReason)[keyof typeof ApprovalReason];
export const APPROVAL_REASONS = Object.values(ApprovalReason) as [ApprovalReason, ...ApprovalReason[]];

export const isRiskReason = (v: string | null | undefined): v is RiskReason => RISK_REASONS.some((r) => r === v);
