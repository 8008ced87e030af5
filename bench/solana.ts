/**
 * The Solana rail over JSON-RPC against the same rail on an in-process LiteSVM. Both phases run the
 * rail the worker runs (`createSolanaRail`, the worker's settings): the same reads of the USDC mint,
 * treasury and recipient accounts, rent, priority fees and blockhash, the same preflighted send,
 * the same signature-status checks and the same journal writes. What differs is the chain:
 *   - over JSON-RPC: HTTP (and the signature subscription over WebSocket) to the stack's chain,
 *     Surfpool in its own process, as the worker reaches it; a settlement waits for the slot that
 *     confirms it;
 *   - in-process: LiteSVM in this process behind web3.js's Connection (`litesvm-rpc.ts`): no HTTP,
 *     no second process, no slots, so a transaction is final when it is sent.
 * Settlements run one after another; the ratio is in-process over JSON-RPC throughput.
 */
import { Connection, Keypair, type PublicKey } from '@solana/web3.js';
import type { Config } from '../src/config';
import { createSolanaRail, loadTreasuryKeypair, resolveUsdcMint, type SolanaRail } from '../src/chains/solana';
import type { SettlementAttempt, SettlementJournal } from '../src/chains/rail';
import { createDevUsdcMint } from '../dev/surfpool';
import { airdrop, inProcessChain } from './litesvm-rpc';
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
  /** in-process throughput ÷ JSON-RPC throughput */
  ratio: number;
}

const TREASURY_LAMPORTS = 1_000n * 1_000_000_000n;
const TREASURY_MICRO_USDC = 10n ** 15n;

/** The journal both phases write: in memory, so its cost is the same on both. */
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

/**
 * The rail on a fresh in-process LiteSVM, bootstrapped as the stack's chain is: a funded treasury
 * and a USDC mint made by an ordinary transaction through the same Connection.
 */
async function inProcessRail(config: Readonly<Config>): Promise<SolanaRail> {
  const chain = inProcessChain();
  const connection = new Connection('http://litesvm.in-process', {
    commitment: config.SOLANA_COMMITMENT,
    disableRetryOnRateLimit: true,
    fetch: chain.fetch,
  });
  const treasury = Keypair.generate();
  airdrop(chain.svm, treasury.publicKey, TREASURY_LAMPORTS);
  const usdcMint = await createDevUsdcMint(connection, treasury, TREASURY_MICRO_USDC);
  return createSolanaRail({ ...railDeps(config), connection, treasury, usdcMint });
}

/** `config` is the stack's: its chain's RPC URL, treasury key and USDC mint for the JSON-RPC phase. */
export async function runSolanaBench(config: Readonly<Config>, secondsPerPhase: number): Promise<SolanaBenchResult> {
  const recipients = Array.from({ length: SOLANA_PAYOUTS }, () => Keypair.generate().publicKey);
  const overRpc = createSolanaRail({
    ...railDeps(config),
    rpcUrl: config.solanaRpcUrl,
    wsUrl: config.SOLANA_WS_URL,
    subscribeSignatures: true,
    treasury: loadTreasuryKeypair(config),
    usdcMint: resolveUsdcMint(config),
  });
  const rpc = await runPhase('rail over JSON-RPC (Surfpool in its own process)', overRpc, recipients, secondsPerPhase);
  const inProcess = await runPhase(
    'rail in-process (LiteSVM behind the Connection)',
    await inProcessRail(config),
    recipients,
    secondsPerPhase,
  );
  return { payouts: SOLANA_PAYOUTS, rpc, inProcess, ratio: inProcess.perSecond / rpc.perSecond };
}
