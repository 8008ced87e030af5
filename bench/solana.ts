/**
 * The Solana rail over JSON-RPC versus the same rail in-process. Both sides run the rail the worker
 * runs (`createSolanaRail`, the worker's settings): the same reads (USDC mint, treasury and
 * recipient accounts, rent, priority fees, blockhash), the same preflighted send, the same
 * signature-status checks and the same journal writes, against the same local-chain code. Only the
 * transport differs:
 *   - RPC: HTTP to the stack's chain, a separate process, exactly as the worker reaches it;
 *   - in-process: a chain in this process, each JSON-RPC request handed to its handlers directly
 *     (no HTTP, no serialization to a socket, no second event loop).
 * Settlements run one after another; the ratio is in-process over RPC throughput.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection, Keypair, type PublicKey } from '@solana/web3.js';
import type { Config } from '../src/config';
import { createSolanaRail, loadTreasuryKeypair, resolveUsdcMint, type SolanaRail } from '../src/chains/solana';
import type { SettlementAttempt, SettlementJournal } from '../src/chains/rail';
import { startSolanaChain } from '../dev/solana-chain';
import { createHandlers, handleOne } from '../dev/solana-chain/rpc-server';
import { summarize, type Summary } from './stats';

const SOLANA_PAYOUTS = 3;
const WARMUP = 3;
const MAX_SETTLEMENTS = 2_000;
const nft = { name: 'Bench', symbol: 'BNC', uri: 'https://example.test/bench.json' };

interface SolanaPhase {
  name: string;
  count: number;
  seconds: number;
  perSecond: number;
  latencyMs: Summary;
}

export interface SolanaBenchResult {
  payouts: number;
  rpc: SolanaPhase;
  inProcess: SolanaPhase;
  /** in-process throughput ÷ RPC throughput */
  ratio: number;
}

/** The journal both sides write: in memory, so its cost is the same on both. */
class MemoryJournal implements SettlementJournal {
  private readonly rows = new Map<string, SettlementAttempt[]>();
  async recordAttempt(a: Omit<SettlementAttempt, 'createdAt'>) {
    this.rows.set(a.purchaseId, [...(this.rows.get(a.purchaseId) ?? []), { ...a, createdAt: new Date() }]);
  }
  async attempts(purchaseId: string) {
    return this.rows.get(purchaseId) ?? [];
  }
}

async function runPhase(name: string, rail: SolanaRail, recipients: PublicKey[], seconds: number): Promise<SolanaPhase> {
  const journal = new MemoryJournal();
  const run = Date.now().toString(36);
  const settleOne = async (i: string) => {
    const result = await rail.settle(
      {
        purchaseId: `bench_${run}_${i}`,
        buyerWallet: Keypair.generate().publicKey.toBase58(),
        nft,
        payouts: recipients.map((w, k) => ({ wallet: w.toBase58(), amountMicroUsdc: BigInt(1_000 + k) })),
      },
      journal,
    );
    if (result.alreadySettled) throw new Error(`${name}: unexpected duplicate settlement`);
  };
  for (let i = 0; i < WARMUP; i += 1) await settleOne(`w${i}`); // JIT, the recipients' token accounts
  const latencies: number[] = [];
  const started = process.hrtime.bigint();
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline && latencies.length < MAX_SETTLEMENTS) {
    const t0 = process.hrtime.bigint();
    await settleOne(String(latencies.length));
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  return { name, count: latencies.length, seconds: elapsed, perSecond: latencies.length / elapsed, latencyMs: summarize(latencies) };
}

function railDeps(config: Readonly<Config>) {
  return {
    commitment: config.SOLANA_COMMITMENT,
    nftMintSeed: config.NFT_MINT_SEED,
    priorityFeeCapMicroLamports: config.PRIORITY_FEE_CAP_MICROLAMPORTS,
    computeUnitLimit: config.COMPUTE_UNIT_LIMIT,
  };
}

/** A fetch for web3.js's Connection that answers from the chain's handlers in this process. */
function inProcessFetch(handlers: ReturnType<typeof createHandlers>) {
  return async (_input: unknown, init?: { body?: unknown }): Promise<Response> => {
    const body: unknown = JSON.parse(String(init?.body ?? 'null'));
    const answer = Array.isArray(body) ? body.map((b) => handleOne(handlers, b)) : handleOne(handlers, body);
    return new Response(JSON.stringify(answer), { status: 200, headers: { 'content-type': 'application/json' } });
  };
}

/**
 * `config` is the stack's (its chain's RPC URL, treasury key and USDC mint): the RPC phase settles
 * on that chain, then the in-process phase on a fresh chain of the same code in this process.
 */
export async function runSolanaBench(config: Readonly<Config>, secondsPerPhase: number): Promise<SolanaBenchResult> {
  const recipients = Array.from({ length: SOLANA_PAYOUTS }, () => Keypair.generate().publicKey);
  const overRpc = createSolanaRail({
    ...railDeps(config),
    rpcUrl: config.solanaRpcUrl,
    treasury: loadTreasuryKeypair(config),
    usdcMint: resolveUsdcMint(config),
  });
  const rpc = await runPhase('rail over JSON-RPC (chain in its own process)', overRpc, recipients, secondsPerPhase);

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'settlement-bench-svm-'));
  const treasuryKeypairPath = path.join(dataDir, 'solana', 'treasury-keypair.json');
  const chain = await startSolanaChain({ port: 0, dataDir, funding: 10n ** 15n, faultInjection: false, treasuryKeypairPath });
  try {
    const treasury = Keypair.fromSecretKey(Uint8Array.from(JSON.parse(fs.readFileSync(treasuryKeypairPath, 'utf8')) as number[]));
    const connection = new Connection(chain.rpcUrl, {
      commitment: config.SOLANA_COMMITMENT,
      disableRetryOnRateLimit: true,
      fetch: inProcessFetch(createHandlers(chain.ledger, false)) as never,
    });
    const local = createSolanaRail({ ...railDeps(config), connection, treasury, usdcMint: chain.usdcMint });
    const inProcess = await runPhase('rail in-process (same chain code, no HTTP)', local, recipients, secondsPerPhase);
    return { payouts: SOLANA_PAYOUTS, rpc, inProcess, ratio: inProcess.perSecond / rpc.perSecond };
  } finally {
    await chain.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
