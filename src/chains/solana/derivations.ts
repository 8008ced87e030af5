import { getAssociatedTokenAddressSync } from '@solana/spl-token';
import type { PublicKey } from '@solana/web3.js';
import { BoundedMap } from '../../shared/bounded-map';

/**
 * Solana's address derivations remembered per process. Deriving an associated token account runs
 * ed25519 curve checks in JavaScript (about a millisecond each), and one settlement derives the
 * treasury's, every recipient's and the buyer's accounts several times over (planning, the treasury
 * check, the transaction, the lookup-table candidates), for recipients that recur across purchases.
 * The results are pure functions of their inputs, so remembering them changes nothing but the CPU.
 */
export class BoundedMemo<V> {
  private readonly entries: BoundedMap<string, V>;
  constructor(limit: number) {
    this.entries = new BoundedMap(limit);
  }

  get(key: string, compute: () => V): V {
    const hit = this.entries.get(key);
    if (hit !== undefined) return hit;
    const value = compute();
    this.entries.set(key, value);
    return value;
  }
}

const associatedAccounts = new BoundedMemo<PublicKey>(10_000);
const hex = (key: PublicKey) => key.toBuffer().toString('hex');

/** getAssociatedTokenAddressSync(mint, owner, allowOwnerOffCurve, program), remembered. */
export function associatedTokenAddress(mint: PublicKey, owner: PublicKey, allowOwnerOffCurve: boolean, program: PublicKey): PublicKey {
  return associatedAccounts.get(`${hex(mint)}${hex(owner)}${hex(program)}${allowOwnerOffCurve ? 1 : 0}`, () =>
    getAssociatedTokenAddressSync(mint, owner, allowOwnerOffCurve, program),
  );
}
