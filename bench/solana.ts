/**
 * Settlement throughput and latency: through the local chain's JSON-RPC (the real rail end to end)
 * versus the same transaction executed directly on an in-process litesvm. Bounded to ~30 s.
 *   tsx bench/solana.ts [secondsPerPhase=10]
 * `runSolanaBench` is the same measurement as a function, for bench/index.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Keypair, PublicKey, TransactionMessage, VersionedTransaction } from '@solana/web3.js';
import {
  ACCOUNT_SIZE, AccountLayout, AccountState, MINT_SIZE, MintLayout, TOKEN_PROGRAM_ID, getAssociatedTokenAddressSync,
} from '@solana/spl-token';
import { address, getTransactionDecoder, lamports } from '@solana/kit';
import { FailedTransactionMetadata, LiteSVM } from 'litesvm';
import { startSolanaChain } from '../src/dev/solana-chain';
import { createSolanaRail, deriveNftMintKeypair } from '../src/chains/solana';
import { nftMintSizes, settlementInstructions } from '../src/chains/solana/settlement-tx';
import type { SettlementAttempt, SettlementJournal } from '../src/chains/rail';
import { percentile } from './stats';

export const SOLANA_PAYOUTS = 3;
const MAX_SETTLEMENTS = 2_000;
const nft = { name: 'Bench', symbol: 'BNC', uri: 'https://example.test/bench.json' };

export interface PhaseResult {
  name: string;
  count: number;
  seconds: number;
  /** ascending */
  latenciesMs: number[];
}

export interface SolanaBenchResult {
  payouts: number;
  secondsPerPhase: number;
  rpc: PhaseResult;
  inProcess: PhaseResult;
}

export const txPerSecond = (r: PhaseResult): number => r.count / r.seconds;

async function runPhase(name: string, secondsPerPhase: number, settleOne: (i: number) => Promise<void>): Promise<PhaseResult> {
  for (let i = 0; i < 5; i += 1) await settleOne(-1 - i); // warm-up: JIT, recipient accounts
  const latenciesMs: number[] = [];
  const started = process.hrtime.bigint();
  const deadline = Date.now() + secondsPerPhase * 1000;
  let i = 0;
  while (Date.now() < deadline && i < MAX_SETTLEMENTS) {
    const t0 = process.hrtime.bigint();
    await settleOne(i);
    latenciesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    i += 1;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { name, count: i, seconds, latenciesMs: latenciesMs.sort((a, b) => a - b) };
}

class Journal implements SettlementJournal {
  private readonly rows: SettlementAttempt[] = [];
  async recordAttempt(a: Omit<SettlementAttempt, 'createdAt'>) {
    this.rows.push({ ...a, createdAt: new Date() });
  }
  async attempts(purchaseId: string) {
    return this.rows.filter((r) => r.purchaseId === purchaseId);
  }
}

async function viaRpc(recipients: PublicKey[], secondsPerPhase: number): Promise<PhaseResult> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'solana-bench-'));
  const keyPath = path.join(dataDir, 'solana', 'treasury-keypair.json');
  const chain = await startSolanaChain({ port: 0, dataDir, funding: 10n ** 15n, faultInjection: false, treasuryKeypairPath: keyPath });
  try {
    const treasury = Keypair.fromSecretKey(Uint8Array.from(JSON.parse(fs.readFileSync(keyPath, 'utf8')) as number[]));
    const rail = createSolanaRail({
      rpcUrl: chain.rpcUrl, commitment: 'confirmed', treasury, usdcMint: chain.usdcMint, nftMintSeed: 'bench-seed-rpc',
      priorityFeeCapMicroLamports: 1_000, computeUnitLimit: 400_000, pollIntervalMs: 5,
    });
    const journal = new Journal();
    const run = `${Date.now().toString(36)}`;
    return await runPhase('rail via JSON-RPC (HTTP)', secondsPerPhase, async (i) => {
      const result = await rail.settle(
        {
          purchaseId: `bench_${run}_${i}`, buyerWallet: Keypair.generate().publicKey.toBase58(), nft,
          payouts: recipients.map((w, k) => ({ wallet: w.toBase58(), amountMicroUsdc: BigInt(1_000 + k) })),
        },
        journal,
      );
      if (result.alreadySettled) throw new Error('unexpected duplicate');
    });
  } finally {
    await chain.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function inProcess(recipients: PublicKey[], secondsPerPhase: number): Promise<PhaseResult> {
  const svm = new LiteSVM();
  const treasury = Keypair.generate();
  svm.airdrop(address(treasury.publicKey.toBase58()), lamports(10_000n * 1_000_000_000n));
  const usdcMint = Keypair.generate().publicKey;
  const mintData = Buffer.alloc(MINT_SIZE);
  MintLayout.encode({ mintAuthorityOption: 1, mintAuthority: treasury.publicKey, supply: 10n ** 15n, decimals: 6, isInitialized: true, freezeAuthorityOption: 0, freezeAuthority: PublicKey.default }, mintData);
  const put = (key: PublicKey, data: Buffer) =>
    svm.setAccount({ address: address(key.toBase58()), lamports: lamports(svm.minimumBalanceForRentExemption(BigInt(data.length))), data, programAddress: address(TOKEN_PROGRAM_ID.toBase58()), executable: false, space: BigInt(data.length) });
  put(usdcMint, mintData);
  const ataData = Buffer.alloc(ACCOUNT_SIZE);
  AccountLayout.encode({ mint: usdcMint, owner: treasury.publicKey, amount: 10n ** 15n, delegateOption: 0, delegate: PublicKey.default, state: AccountState.Initialized, isNativeOption: 0, isNative: 0n, delegatedAmount: 0n, closeAuthorityOption: 0, closeAuthority: PublicKey.default }, ataData);
  put(getAssociatedTokenAddressSync(usdcMint, treasury.publicKey), ataData);
  const decoder = getTransactionDecoder();
  const run = `${Date.now().toString(36)}`;
  return runPhase('litesvm in-process', secondsPerPhase, async (i) => {
    const nftMint = deriveNftMintKeypair('bench-seed-svm', `bench_${run}_${i}`);
    const { fundedSpace } = nftMintSizes(nft, nftMint.publicKey, treasury.publicKey);
    const ixs = settlementInstructions({
      treasury: treasury.publicKey, nftMint, buyer: Keypair.generate().publicKey, nft, usdcMint, usdcProgram: TOKEN_PROGRAM_ID,
      payouts: recipients.map((w, k) => ({ wallet: w, amount: BigInt(1_000 + k) })), computeUnitLimit: 400_000,
      priorityFeeMicroLamports: 0, rentForNftMint: Number(svm.minimumBalanceForRentExemption(BigInt(fundedSpace))), createRecipientAccounts: true,
    });
    const msg = new TransactionMessage({ payerKey: treasury.publicKey, recentBlockhash: svm.latestBlockhash(), instructions: ixs }).compileToV0Message();
    const tx = new VersionedTransaction(msg);
    tx.sign([treasury, nftMint]);
    const res = svm.sendTransaction(decoder.decode(tx.serialize()));
    if (res instanceof FailedTransactionMetadata) throw new Error(res.toString());
  });
}

/** Both phases, one after the other (the RPC chain is stopped before litesvm runs). */
export async function runSolanaBench(secondsPerPhase: number): Promise<SolanaBenchResult> {
  const recipients = Array.from({ length: SOLANA_PAYOUTS }, () => Keypair.generate().publicKey);
  const rpc = await viaRpc(recipients, secondsPerPhase);
  const svm = await inProcess(recipients, secondsPerPhase);
  return { payouts: SOLANA_PAYOUTS, secondsPerPhase, rpc, inProcess: svm };
}

async function main(): Promise<void> {
  const secondsPerPhase = Number(process.argv[2] ?? 10);
  const result = await runSolanaBench(secondsPerPhase);
  const rows = [result.rpc, result.inProcess];
  console.log(`\nSolana settlement bench: ${result.payouts} payouts + Token-2022 NFT per transaction, sequential, ${secondsPerPhase}s per phase\n`);
  console.log('path                        settlements   tx/s     p50 ms   p99 ms');
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(28)}${String(r.count).padStart(11)}${txPerSecond(r).toFixed(1).padStart(8)}${percentile(r.latenciesMs, 50).toFixed(2).padStart(9)}${percentile(r.latenciesMs, 99).toFixed(2).padStart(9)}`,
    );
  }
  console.log(`\nin-process / RPC throughput ratio: ${(txPerSecond(result.inProcess) / txPerSecond(result.rpc)).toFixed(1)}x`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
