/**
 * The risk limits of a treasury reservation, evaluated inside its database transaction after the
 * treasury row lock (src/db/ledger.ts reserveTreasuryHold): every reservation against one treasury
 * account runs one at a time, so concurrent purchases each see the ones committed before them and
 * cannot all slip under a limit. A buyer wallet belongs to one rail family (Solana or EVM), so all of
 * its purchases take the same lock too. A reservation over a limit is still made, flagged with the
 * limit's reason: the purchase then waits for an admin's approval instead of failing.
 */
import { RiskReason } from '../shared/risk';
import { RAILS } from '../shared/status';
import type { Rail } from '../shared/status';
import type { Prisma } from './client';

export interface RiskLimits {
  /** gross cents per rail per UTC day; a rail without an entry has no daily limit */
  dailyVolumeCents: Readonly<Partial<Record<Rail, bigint>>>;
  /** reservations one buyer wallet may hold within the window; a limit of 0 turns it off */
  buyerVelocity: { limit: number; windowMs: number };
}

export const NO_RISK_LIMITS: RiskLimits = { dailyVolumeCents: {}, buyerVelocity: { limit: 0, windowMs: 0 } };

const DAY_MS = 86_400_000;
const utcDayStart = (now: Date) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));

/**
 * What counts. Daily volume: the gross of the rail's purchases reserved this UTC day that were let
 * through: within the limit, or settled (posted) after an approval; a purchase still waiting for its
 * approval, or rejected, does not use up the day. Velocity: every live reservation (pending or
 * posted) of the wallet within the window, flagged or not, so repeated attempts stay flagged.
 *
 * Returns the first limit this purchase's reservation would go over, or null. Call after the
 * treasury row lock.
 */
export async function riskLimitExceeded(
  tx: Prisma.TransactionClient,
  input: { purchaseId: string; account: string; now: Date; limits: RiskLimits },
): Promise<RiskReason | null> {
  const { purchaseId, account, now, limits } = input;
  if (Object.keys(limits.dailyVolumeCents).length === 0 && limits.buyerVelocity.limit === 0) return null;
  const purchase = await tx.purchase.findUnique({ where: { id: purchaseId }, select: { rail: true, buyerWallet: true, grossCents: true } });
  if (!purchase) return null;
  const rail = RAILS.find((r) => r === purchase.rail);
  const dailyLimit = rail && limits.dailyVolumeCents[rail];
  if (rail && dailyLimit !== undefined) {
    const dayStart = utcDayStart(now);
    const rows = await tx.$queryRaw<{ total: bigint }[]>`
      SELECT COALESCE(SUM(p."grossCents"), 0)::bigint AS total
      FROM "TreasuryHold" h JOIN "Purchase" p ON p.id = h."purchaseId"
      WHERE h.account = ${account} AND h."reservedAt" >= ${dayStart} AND h."reservedAt" < ${new Date(dayStart.getTime() + DAY_MS)}
        AND (h.status = 'posted' OR (h.status = 'pending' AND h."riskReason" IS NULL))
        AND p.rail = ${rail} AND h."purchaseId" <> ${purchaseId}`;
    const today = rows[0]?.total ?? 0n;
    if (today + (purchase.grossCents ?? 0n) > dailyLimit) return RiskReason.DailyVolume;
  }
  const { limit, windowMs } = limits.buyerVelocity;
  if (limit > 0) {
    const rows = await tx.$queryRaw<{ n: bigint }[]>`
      SELECT COUNT(*)::bigint AS n
      FROM "TreasuryHold" h JOIN "Purchase" p ON p.id = h."purchaseId"
      WHERE p."buyerWallet" = ${purchase.buyerWallet} AND h.status IN ('pending', 'posted')
        AND h."reservedAt" > ${new Date(now.getTime() - windowMs)} AND h."reservedAt" <= ${now} AND h."purchaseId" <> ${purchaseId}`;
    if ((rows[0]?.n ?? 0n) + 1n > BigInt(limit)) return RiskReason.BuyerVelocity;
  }
  return null;
}
