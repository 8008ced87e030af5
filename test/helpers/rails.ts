/** Rail wrappers for engine tests (`startEngine({ activityDeps })`). */
import type { ActivityDeps } from '../../src/activities';
import type { SettlementRail } from '../../src/chains/rail';
import { Rail } from '../../src/shared/status';

type Settle = SettlementRail['settle'];

/**
 * The activity dependencies with the Solana rail's `settle` replaced by `settle(request, journal, real)`,
 * `real` being the real rail's; everything else is the real rail.
 */
export function wrapSolanaSettle(
  settle: (...args: [...Parameters<Settle>, real: Settle]) => ReturnType<Settle>,
): (deps: ActivityDeps) => ActivityDeps {
  return (deps) => {
    const real = deps.rails[Rail.Solana] as SettlementRail;
    const wrapped: SettlementRail = {
      rail: real.rail,
      isValidWallet: (a) => real.isValidWallet(a),
      treasuryBalanceMicroUsdc: () => real.treasuryBalanceMicroUsdc(),
      ping: () => real.ping(),
      settle: (request, journal) => settle(request, journal, (r, j) => real.settle(r, j)),
    };
    return { ...deps, rails: { ...deps.rails, [Rail.Solana]: wrapped } };
  };
}
