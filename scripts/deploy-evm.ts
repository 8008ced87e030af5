/**
 * Deploys (or re-verifies) the EVM rail's contracts. Idempotent: safe to run on every start.
 *
 *   npx tsx scripts/deploy-evm.ts [--deployments <file>] [--treasury-key <0x…>] [--settler <0x…>]
 *
 * Reads EVM_RPC_URL (default local anvil), EVM_PRIVATE_KEY (deployer, and settler/treasury unless
 * overridden), EVM_USDC_ADDRESS (required on public chains) and DATA_DIR through src/config.ts.
 */
import { loadConfig } from '../src/config';
import { deployEvmContracts } from '../src/chains/evm/deploy';

function flag(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: readonly string[]): Promise<void> {
  const config = loadConfig();
  const deployment = await deployEvmContracts({
    rpcUrl: config.evmRpcUrl,
    deployerKey: config.EVM_PRIVATE_KEY,
    dataDir: config.dataDir,
    deploymentsFile: flag(argv, '--deployments'),
    treasuryKey: flag(argv, '--treasury-key'),
    settlerAddress: flag(argv, '--settler'),
    usdcAddress: config.EVM_USDC_ADDRESS,
    treasuryFundingMicroUsdc: config.DEV_TREASURY_FUNDING_MICRO_USDC,
    log: (m) => console.log(m),
  });
  console.log(JSON.stringify(deployment, null, 2));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
