/**
 * The deployments file per chain (written by scripts/deploy-evm.ts, read by the rail at boot).
 * Kept apart from deploy.ts so the production rail does not load contract bytecode.
 */
import fs from 'node:fs';
import path from 'node:path';
import { getAddress, isAddress } from 'ethers';
import { z } from 'zod';
import { LOCAL_CHAIN_ID } from './provider';

const address = z
  .string()
  .refine((v) => isAddress(v), 'not an address')
  .transform((v) => getAddress(v));
const evmDeploymentSchema = z.object({
  chainId: z.number().int().positive(),
  splitter: address,
  splitterBlock: z.number().int().nonnegative(),
  usdc: address,
  /** true when usdc is the TestUSDC this tool deployed (local chains only). */
  testUsdc: z.boolean(),
  admin: address,
  treasury: address,
  settler: address,
  updatedAt: z.string(),
});
export type EvmDeployment = z.infer<typeof evmDeploymentSchema>;

/** Local anvil: `<dataDir>/evm/deployments-<chainId>.json`; public chains: `deployments/<chainId>.json` under cwd (the repo root). */
export function defaultDeploymentsFile(chainId: number, dataDir: string): string {
  return chainId === LOCAL_CHAIN_ID
    ? path.join(dataDir, 'evm', `deployments-${chainId}.json`)
    : path.resolve('deployments', `${chainId}.json`);
}

export function readEvmDeployment(file: string): EvmDeployment | undefined {
  if (!fs.existsSync(file)) return undefined;
  return evmDeploymentSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
}
