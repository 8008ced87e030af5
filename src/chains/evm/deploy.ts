/**
 * Idempotent deployment of the EVM rail's contracts. A deployments JSON per chain records what was
 * deployed; re-running verifies code still exists there, redeploys only what is missing, and
 * re-asserts roles, the local treasury balance and the treasury's allowance.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Contract, ContractFactory, getAddress, isAddress, MaxUint256, NonceManager, Wallet, type JsonRpcProvider } from 'ethers';
import { settlementSplitterAbi, settlementSplitterBytecode, testUsdcAbi, testUsdcBytecode } from '../../../generated/evm/abi';
import { defaultDeploymentsFile, readEvmDeployment, type EvmDeployment } from './deployments';
import { connectProvider, LOCAL_CHAIN_ID } from './provider';

export type { EvmDeployment };

export const DEFAULT_LOCAL_TREASURY_FUNDING_MICRO_USDC = 1_000_000_000_000n; // 1,000,000 USDC

function writeEvmDeployment(file: string, deployment: EvmDeployment): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(deployment, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

export interface DeployEvmOptions {
  rpcUrl: string;
  /** Deploys the contracts and becomes admin/pauser (and TestUSDC owner on local chains). */
  deployerKey: string;
  /** Defaults to defaultDeploymentsFile(chainId, dataDir). */
  deploymentsFile?: string;
  /** Needed for the local default deployments file. */
  dataDir?: string;
  /** Signs the treasury's approve; defaults to the deployer (the single dev key). */
  treasuryKey?: string;
  /** Receives SETTLER_ROLE; defaults to the deployer's address. */
  settlerAddress?: string;
  /** Existing USDC on public chains (required there); ignored on local chains, which get TestUSDC. */
  usdcAddress?: string;
  /** Local chains only: mint the treasury up to this balance. */
  treasuryFundingMicroUsdc?: bigint;
  /** Allowance the treasury grants the splitter; defaults to unlimited. */
  allowanceMicroUsdc?: bigint;
  log?: (message: string) => void;
}

async function hasCode(provider: JsonRpcProvider, addr: string): Promise<boolean> {
  return (await provider.getCode(addr)) !== '0x';
}

export async function deployEvmContracts(opts: DeployEvmOptions): Promise<EvmDeployment> {
  const log = opts.log ?? (() => undefined);
  const provider = await connectProvider(opts.rpcUrl);
  try {
    const chainId = Number((await provider.getNetwork()).chainId);
    const local = chainId === LOCAL_CHAIN_ID;
    const file = opts.deploymentsFile ?? defaultDeploymentsFile(chainId, opts.dataDir ?? '.data');
    const deployerWallet = new Wallet(opts.deployerKey, provider);
    const treasuryWallet = new Wallet(opts.treasuryKey ?? opts.deployerKey, provider);
    // One NonceManager per key, shared when the deployer is also the treasury.
    const deployer = new NonceManager(deployerWallet);
    const treasury = treasuryWallet.address === deployerWallet.address ? deployer : new NonceManager(treasuryWallet);
    const settler = getAddress(opts.settlerAddress ?? deployerWallet.address);

    let recorded = readEvmDeployment(file);
    if (recorded && recorded.chainId !== chainId) {
      throw new Error(`${file} records chain ${recorded.chainId}, but ${opts.rpcUrl} is chain ${chainId}`);
    }

    // USDC: reuse recorded TestUSDC if its code is still there (anvil without --state loses it).
    let usdc: string;
    let testUsdc = false;
    if (local) {
      if (recorded?.testUsdc && (await hasCode(provider, recorded.usdc))) {
        usdc = recorded.usdc;
      } else {
        const factory = new ContractFactory(testUsdcAbi, testUsdcBytecode, deployer);
        const token = await factory.deploy(deployerWallet.address);
        await token.waitForDeployment();
        usdc = getAddress(await token.getAddress());
        recorded = undefined; // a new token means a new splitter
        log(`deployed TestUSDC at ${usdc}`);
      }
      testUsdc = true;
    } else {
      const wanted = opts.usdcAddress ?? recorded?.usdc;
      if (!wanted || !isAddress(wanted)) throw new Error(`chain ${chainId} is not local: pass the USDC token address (EVM_USDC_ADDRESS)`);
      usdc = getAddress(wanted);
      if (!(await hasCode(provider, usdc))) throw new Error(`no contract at USDC address ${usdc} on chain ${chainId}`);
    }

    let splitterAddress: string;
    let splitterBlock: number;
    if (recorded && recorded.usdc === usdc && (await hasCode(provider, recorded.splitter))) {
      splitterAddress = recorded.splitter;
      splitterBlock = recorded.splitterBlock;
      log(`SettlementSplitter already at ${splitterAddress}`);
    } else {
      const factory = new ContractFactory(settlementSplitterAbi, settlementSplitterBytecode, deployer);
      const deployed = await factory.deploy(deployerWallet.address, usdc, treasuryWallet.address);
      const receipt = await deployed.deploymentTransaction()?.wait();
      splitterAddress = getAddress(await deployed.getAddress());
      splitterBlock = receipt?.blockNumber ?? (await provider.getBlockNumber());
      log(`deployed SettlementSplitter at ${splitterAddress}`);
    }

    const deployment: EvmDeployment = {
      chainId,
      splitter: splitterAddress,
      splitterBlock,
      usdc,
      testUsdc,
      admin: deployerWallet.address,
      treasury: treasuryWallet.address,
      settler,
      updatedAt: new Date().toISOString(),
    };
    // Record before the follow-up transactions, so a crash below never causes a second deployment.
    writeEvmDeployment(file, deployment);

    const splitter = new Contract(splitterAddress, settlementSplitterAbi, deployer);
    if (getAddress(await splitter.getFunction('treasury')()) !== treasuryWallet.address) {
      await (await splitter.getFunction('setTreasury')(treasuryWallet.address)).wait();
      log(`treasury set to ${treasuryWallet.address}`);
    }
    const role = (await splitter.getFunction('SETTLER_ROLE')()) as string;
    if (!(await splitter.getFunction('hasRole')(role, settler))) {
      await (await splitter.getFunction('grantRole')(role, settler)).wait();
      log(`granted SETTLER_ROLE to ${settler}`);
    }

    const token = new Contract(usdc, testUsdcAbi, deployer);
    if (local) {
      const target = opts.treasuryFundingMicroUsdc ?? DEFAULT_LOCAL_TREASURY_FUNDING_MICRO_USDC;
      const balance = (await token.getFunction('balanceOf')(treasuryWallet.address)) as bigint;
      if (balance < target) {
        await (await token.getFunction('mint')(treasuryWallet.address, target - balance)).wait();
        log(`minted ${target - balance} micro-USDC to treasury ${treasuryWallet.address}`);
      }
    }
    const wantAllowance = opts.allowanceMicroUsdc ?? MaxUint256;
    const allowance = (await token.getFunction('allowance')(treasuryWallet.address, splitterAddress)) as bigint;
    // Unlimited allowances decrease only when spent from; re-approve once below half.
    if (wantAllowance === MaxUint256 ? allowance < MaxUint256 / 2n : allowance !== wantAllowance) {
      const asTreasury = new Contract(usdc, testUsdcAbi, treasury);
      await (await asTreasury.getFunction('approve')(splitterAddress, wantAllowance)).wait();
      log(`treasury approved the splitter for ${wantAllowance === MaxUint256 ? 'unlimited' : wantAllowance} micro-USDC`);
    }
    return deployment;
  } finally {
    provider.destroy();
  }
}
