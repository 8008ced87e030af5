/**
 * The Solana rail over JSON-RPC as the worker runs it (`createSolanaRail`, the worker's settings: the
 * same reads of the USDC mint, treasury and recipient accounts, rent, priority fees and blockhash,
 * the same preflighted send, signature-status checks and journal writes), over HTTP to the stack's
 * chain (Surfpool, a separate process). Settlements run one after another.
 */
import { Keypair, type PublicKey } from '@solana/web3.js';
import type { Config } from '../src/config';
import { createSolanaRail, loadTreasuryKeypair, resolveUsdcMint, type SolanaRail } from '../src/chains/solana';
import type { SettlementAttempt, SettlementJournal } from '../src/chains/rail';
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
}

/** The journal the rail writes: in memory, so only the rail and the chain are measured. */
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
    wsUrl: config.SOLANA_WS_URL,
    subscribeSignatures: true,
  };
}

/** `config` is the stack's: its chain's RPC URL, treasury key and USDC mint. */
export async function runSolanaBench(config: Readonly<Config>, secondsPerPhase: number): Promise<SolanaBenchResult> {
  const recipients = Array.from({ length: SOLANA_PAYOUTS }, () => Keypair.generate().publicKey);
  const overRpc = createSolanaRail({
    ...railDeps(config),
    rpcUrl: config.solanaRpcUrl,
    treasury: loadTreasuryKeypair(config),
    usdcMint: resolveUsdcMint(config),
  });
  const rpc = await runPhase('rail over JSON-RPC (chain in its own process)', overRpc, recipients, secondsPerPhase);
  return { payouts: SOLANA_PAYOUTS, rpc };
}
