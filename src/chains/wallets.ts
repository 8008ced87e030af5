/** Address validation per rail, without building a chain client (the API validates before anything else). */
import { Rail } from '../shared/status';
import { isValidEvmAddress } from './evm/rail';
import { isValidSolanaWallet } from './solana/keys';

export function isValidWalletForRail(rail: Rail, address: string): boolean {
  return rail === Rail.Evm ? isValidEvmAddress(address) : isValidSolanaWallet(address);
}
