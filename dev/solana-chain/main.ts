/**
 * `tsx dev/solana-chain/main.ts [--program <settlement.so>]`: the local Solana chain as its own
 * process; with `--program`, the settlement program is deployed once it is up.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config';
import { deploySettlementProgram } from './settlement-program';
import { startSolanaChain } from './index';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { program: { type: 'string' } } });
  const config = loadConfig();
  const chain = await startSolanaChain({
    port: config.SOLANA_RPC_PORT,
    dataDir: config.dataDir,
    funding: config.DEV_TREASURY_FUNDING_MICRO_USDC,
    faultInjection: config.SOLANA_FAULT_INJECTION,
    treasuryKeypairPath: config.treasuryKeypairPath,
    log: (line) => console.log(line),
  });
  console.log(`SOLANA_RPC_URL=${chain.rpcUrl}`);
  console.log(`USDC_MINT=${chain.usdcMint.toBase58()}`);
  console.log(`TREASURY=${chain.treasury.toBase58()}`);
  if (values.program !== undefined) {
    const deployed = deploySettlementProgram(chain, values.program);
    console.log(`SETTLEMENT_PROGRAM_ID=${deployed.programId.toBase58()} (${deployed.bytes} bytes, sha256 ${deployed.sha256})`);
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`solana local chain: ${signal}, stopping`);
    chain.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
