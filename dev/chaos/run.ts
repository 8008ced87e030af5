/**
 * The chaos run: the stack `npm start` runs (separate processes, Temporal on its database file,
 * embedded PostgreSQL), with fault proxies in front of Stripe and both chains, driven from this
 * process by an open-loop load of purchases while every fault of faults.ts fires at once. It then
 * waits for every purchase to end, checks each collaborator's on-chain balance against its payout
 * rows, and reports.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection, PublicKey, Transaction } from '@solana/web3.js';
import { createMintToInstruction, getAssociatedTokenAddressSync } from '@solana/spl-token';
import bs58 from 'bs58';
import { Contract, JsonRpcProvider, Wallet } from 'ethers';
import Stripe from 'stripe';
import { testUsdcAbi } from '../../generated/evm/abi';
import { evmRailFromConfig } from '../../src/chains/evm';
import { loadTreasuryKeypair, resolveUsdcMint } from '../../src/chains/solana';
import { childProcessEnv, loadConfig, DEV_SETTLEMENT_PROGRAM_ID, type Config } from '../../src/config';
import { createDb, type Db } from '../../src/db/client';
import { freeStackPorts } from '../net';
import { startStack, type Stack } from '../stack';
import { treasuryRailOf, type AuditReport, type TreasuryRail } from '../../src/audit/types';
import { createDevStripeClient, type DevPayment } from '../dev-stripe/client';
import { PROJECT_ROOT } from '../tools';
import { PurchaseStatus, Rail } from '../../src/shared/status';
import { ApiClient } from './api-client';
import { startFaultProxy, type FaultProxy } from './fault-proxy';
import { FaultSchedule, type FaultCounters, type FaultPlan } from './faults';
import { Random } from './random';
import { WebhookDeliverer, type DeliveryStats } from './webhook-delivery';
import { catalogue, expectedPoolMicroUsdc, newWallet, planPurchases, type ProductSpec, type PurchasePlan } from './workload';

export interface ChaosOptions {
  purchases: number;
  seed: number;
  /** open-loop arrival rate of new checkouts */
  ratePerSecond: number;
  /** null: no faults (a baseline run) */
  faults: FaultPlan | null;
  /** fund the treasuries for about a third of the run, and replenish them halfway */
  treasuryShort: boolean;
  rails: Rail[];
  prices: bigint[];
  /** the approval threshold the run configures; products above it need an operator */
  approvalThresholdCents: bigint;
  /** the price of the products above the threshold */
  approvalPriceCents: bigint;
  abortShare: number;
  approvalShare: number;
  rejectShare: number;
  /** how long purchases may take to end once the faults stop */
  drainTimeoutMs: number;
  dataDir: string;
  progress: (line: string) => void;
}

type FinalStatus =
  typeof PurchaseStatus.Settled | typeof PurchaseStatus.Failed | typeof PurchaseStatus.Refunded | typeof PurchaseStatus.Disputed;
const FINAL: readonly string[] = [PurchaseStatus.Settled, PurchaseStatus.Failed, PurchaseStatus.Refunded, PurchaseStatus.Disputed];

interface Tracked {
  plan: PurchasePlan;
  expected: FinalStatus;
  purchaseId?: string;
  payment?: DevPayment;
  status?: string;
  failureType?: string | null;
  /** ms since the load started */
  paidAt?: number;
  settledAt?: number;
  endedAt?: number;
  driverError?: string;
}

interface BalanceFinding {
  rail: Rail;
  wallet: string;
  onChainMicroUsdc: string;
  payoutRowsMicroUsdc: string;
}

export interface ChaosReport {
  ok: boolean;
  seed: number;
  options: Omit<ChaosOptions, 'progress' | 'prices' | 'approvalThresholdCents' | 'approvalPriceCents'> & {
    prices: string[];
    approvalThresholdCents: string;
    approvalPriceCents: string;
  };
  durations: { loadSeconds: number; faultSeconds: number; drainSeconds: number | null; totalSeconds: number };
  purchases: {
    planned: number;
    checkedOut: number;
    byStatus: Record<string, number>;
    asExpected: number;
    /** paid but not in the expected final state by the deadline */
    lost: number;
    settled: number;
    settledWhileFaulting: number;
    settledAfterFaults: number;
    perSecond: number;
    settleLatencyMs: { p50: number | null; p99: number | null };
  };
  lost: {
    purchaseId: string | null;
    product: string;
    expected: string;
    status: string | null;
    failureType: string | null;
    driverError: string | null;
  }[];
  paidTwice: number;
  missedPayouts: number;
  /** `npm run audit` against the stack once every purchase ended */
  audit: {
    ok: boolean;
    exitCode: number;
    counts: AuditReport['counts'] | null;
    findingsByCode: Record<string, number>;
    findings: { code: string; message: string }[];
  };
  balanceFindings: BalanceFinding[];
  faults: FaultCounters & { proxies: Record<string, { requests: number; errors: number; held: number }> };
  deliveries: DeliveryStats;
  apiRetries: number;
  treasury: { initialFundingMicroUsdc: string; replenished: Record<string, string>; error?: string };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One query a tick for every unfinished purchase; waiters resolve when a status they want is seen. */
class StatusWatcher {
  private readonly waiters = new Map<string, { statuses: readonly string[]; resolve: (status: string) => void }[]>();
  private timer: NodeJS.Timeout | undefined;
  dbErrors = 0;

  constructor(
    private readonly db: Db,
    private readonly onStatus: (purchaseId: string, status: string, failureType: string | null) => void,
  ) {}

  start(): void {
    const loop = async () => {
      await this.tick();
      this.timer = setTimeout(() => void loop(), 500);
    };
    void loop();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  waitFor(purchaseId: string, statuses: readonly string[]): Promise<string> {
    return new Promise((resolve) => {
      const list = this.waiters.get(purchaseId) ?? [];
      list.push({ statuses, resolve });
      this.waiters.set(purchaseId, list);
    });
  }

  private async tick(): Promise<void> {
    const ids = [...this.waiters.keys()];
    for (let i = 0; i < ids.length; i += 500) {
      let rows: { id: string; status: string; failureType: string | null }[];
      try {
        rows = await this.db.purchase.findMany({
          where: { id: { in: ids.slice(i, i + 500) } },
          select: { id: true, status: true, failureType: true },
        });
      } catch {
        this.dbErrors += 1; // PostgreSQL is restarting
        return;
      }
      for (const row of rows) {
        this.onStatus(row.id, row.status, row.failureType);
        const list = this.waiters.get(row.id) ?? [];
        const keep = list.filter((w) => {
          if (!w.statuses.includes(row.status)) return true;
          w.resolve(row.status);
          return false;
        });
        if (keep.length > 0) this.waiters.set(row.id, keep);
        else this.waiters.delete(row.id);
      }
    }
  }
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? null;
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const random = new Random(opts.seed);
  const workloadRandom = random.fork();
  const deliveryRandom = random.fork();
  const faultRandom = random.fork();
  const proxyRandom = random.fork();
  const { progress, prices: _prices, approvalThresholdCents: _threshold, approvalPriceCents: _approvalPrice, ...settings } = opts;

  // The plan first: the treasury's funding depends on what the run will buy.
  const products = catalogue(workloadRandom, opts.rails, opts.prices, opts.approvalShare > 0 ? opts.approvalPriceCents : null);
  const plans = planPurchases(workloadRandom, products, opts);
  const platformFeeBps = 1000;
  // Per treasury: solana-anchor pays from the Solana treasury.
  const poolByRail = new Map<TreasuryRail, bigint>();
  for (const p of plans) {
    const treasury = treasuryRailOf(p.product.rail);
    poolByRail.set(treasury, (poolByRail.get(treasury) ?? 0n) + expectedPoolMicroUsdc(p.product, platformFeeBps));
  }
  const largestPool = [...poolByRail.values()].reduce((a, b) => (a > b ? a : b), 0n);
  const initialFunding = opts.treasuryShort ? largestPool / 3n : largestPool * 2n + 1_000_000_000n;

  fs.rmSync(opts.dataDir, { recursive: true, force: true });
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const stackLog = fs.createWriteStream(path.join(opts.dataDir, 'stack.log'));
  const logLine = (line: string) => stackLog.write(`${new Date().toISOString()} ${line}\n`);

  const env: Record<string, string> = {
    ...(await freeStackPorts()),
    DATA_DIR: opts.dataDir,
    WORKER_METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
    SOLANA_FAULT_INJECTION: 'true',
    DEV_TREASURY_FUNDING_MICRO_USDC: initialFunding.toString(),
    PLATFORM_FEE_BPS: String(platformFeeBps),
    APPROVAL_THRESHOLD_CENTS: opts.approvalThresholdCents.toString(),
    TREASURY_RECHECK_INTERVAL: '5 seconds',
    STUCK_AFTER_MINUTES: '60',
    // One driver stands in for many buyers: the per-client checkout limit would throttle it.
    CHECKOUT_RATE_LIMIT: '0',
  };
  const config = loadConfig(childProcessEnv(env));
  const proxies = {
    stripe: await startFaultProxy({
      target: `http://127.0.0.1:${config.STRIPE_MOCK_PORT}`,
      errorStatus: 500,
      random: () => proxyRandom.next(),
      holdMs: 20_000,
    }),
    solana: await startFaultProxy({ target: config.solanaRpcUrl, errorStatus: 503, random: () => proxyRandom.next(), holdMs: 20_000 }),
    evm: await startFaultProxy({ target: config.evmRpcUrl, errorStatus: 503, random: () => proxyRandom.next(), holdMs: 35_000 }),
  };
  const closeProxies = () => Promise.all(Object.values(proxies).map((p: FaultProxy) => p.close()));

  let stack: Stack | undefined;
  let db: Db | undefined;
  try {
    progress(`[chaos] seed ${opts.seed}: starting the stack in ${opts.dataDir} (logs in stack.log)`);
    stack = await startStack(config, {
      env,
      appEnv: {
        STRIPE_API_BASE: proxies.stripe.url,
        SOLANA_RPC_URL: proxies.solana.url,
        EVM_RPC_URL: proxies.evm.url,
        // The program the stack deployed on its chain; behind the proxy the config does not default to it.
        SETTLEMENT_PROGRAM_ID: DEV_SETTLEMENT_PROGRAM_ID,
      },
      restartTemporal: true,
      log: logLine,
      onStopped: (signal) => {
        progress(`[chaos] ${signal}: the stack is stopped; no report`);
        process.exit(130);
      },
    });
    db = createDb(config.databaseUrl, { poolSize: 4 });
    const api = new ApiClient(`http://127.0.0.1:${config.PORT}`, config.ADMIN_TOKEN);
    const evmBank =
      opts.rails.includes(Rail.Evm) && opts.treasuryShort ? await fundEvmBank(config, poolByRail.get(Rail.Evm) ?? 0n) : undefined;

    const productIds = new Map<ProductSpec, string>();
    for (const product of products) {
      const res = await api.call(
        'POST',
        '/admin/products',
        {
          title: `Chaos ${product.key}`,
          priceCents: product.priceCents.toString(),
          rail: product.rail,
          nftSymbol: 'CHAOS',
          nftUri: 'https://example.com/chaos.json',
          collaborators: product.shares.map((shareBps, i) => ({ wallet: product.wallets[i], role: `collaborator-${i + 1}`, shareBps })),
        },
        { admin: true },
      );
      if (res.status !== 201) throw new Error(`creating product ${product.key}: ${res.status} ${JSON.stringify(res.json)}`);
      productIds.set(product, (res.json as { id: string }).id);
    }
    progress(
      `[chaos] ${products.length} products on ${opts.rails.join(', ')}; ${plans.length} purchases at ${opts.ratePerSecond}/s; treasury funded with ${initialFunding} micro-USDC per rail`,
    );

    const stripe = new Stripe(config.STRIPE_SECRET_KEY);
    const devStripe = createDevStripeClient(`http://127.0.0.1:${config.STRIPE_MOCK_PORT}`);
    const deliverer = new WebhookDeliverer({
      url: `http://127.0.0.1:${config.PORT}/webhooks/stripe`,
      stripe,
      webhookSecret: config.STRIPE_WEBHOOK_SECRET,
      random: deliveryRandom,
      copies: [2, 3],
      maxInitialDelayMs: 3_000,
      backoff: { initialMs: 500, maxMs: 8_000 },
      giveUpAfterMs: opts.drainTimeoutMs + 600_000,
    });

    const tracked: Tracked[] = plans.map((plan) => ({
      plan,
      expected: plan.abort
        ? plan.abort.kind === 'refund'
          ? PurchaseStatus.Refunded
          : PurchaseStatus.Disputed
        : plan.decision === 'reject'
          ? PurchaseStatus.Failed
          : PurchaseStatus.Settled,
    }));
    const byId = new Map<string, Tracked>();
    let loadStart = Date.now();
    const since = () => Date.now() - loadStart;
    const watcher = new StatusWatcher(db, (id, status, failureType) => {
      const t = byId.get(id);
      if (!t) return;
      t.status = status;
      t.failureType = failureType;
      if (status === PurchaseStatus.Settled && t.settledAt === undefined) t.settledAt = since();
    });
    watcher.start();

    const drive = async (t: Tracked): Promise<void> => {
      const { plan } = t;
      await sleep(Math.max(0, loadStart + plan.arrivalMs - Date.now()));
      const productId = productIds.get(plan.product) ?? '';
      const buyerWallet = newWallet(plan.product.rail);
      const checkout = await api.call('POST', '/api/checkout/sessions', { productId, buyerWallet });
      if (checkout.status !== 201) {
        t.driverError = `checkout answered ${checkout.status}: ${JSON.stringify(checkout.json)}`;
        return;
      }
      const { purchaseId, checkoutSessionId } = checkout.json as { purchaseId: string; checkoutSessionId: string };
      t.purchaseId = purchaseId;
      byId.set(purchaseId, t);
      // The buyer pays at Stripe; Stripe sends every event of the payment, each more than once, in no order.
      const payment = await devStripe.pay(checkoutSessionId);
      t.payment = payment;
      t.paidAt = since();
      const paid = Promise.all(deliveryRandom.shuffle([...payment.events]).map((e) => deliverer.send(e)));
      const abort = async () => {
        const { events } =
          plan.abort?.kind === 'refund' ? await devStripe.refund(payment.paymentIntentId) : await devStripe.dispute(payment.chargeId);
        await Promise.all(events.map((e) => deliverer.send(e)));
      };

      if (plan.abort?.moment === 'before_pivot') {
        await sleep(plan.abort.delayMs);
        await abort();
      }
      if (plan.decision) {
        const seen = await watcher.waitFor(purchaseId, [PurchaseStatus.AwaitingApproval, ...FINAL]);
        if (seen === PurchaseStatus.AwaitingApproval) {
          const res = await api.call('POST', `/admin/purchases/${purchaseId}/${plan.decision}`, { reason: 'chaos run' }, { admin: true });
          if (res.status !== 202) t.driverError = `${plan.decision} answered ${res.status}: ${JSON.stringify(res.json)}`;
        }
      }
      if (plan.abort?.moment === 'after_settlement') {
        const seen = await watcher.waitFor(purchaseId, FINAL);
        if (seen === PurchaseStatus.Settled) {
          await sleep(plan.abort.delayMs);
          await abort();
        }
      }
      await paid;
      const ends =
        t.expected === PurchaseStatus.Settled || t.expected === PurchaseStatus.Failed
          ? FINAL
          : FINAL.filter((s) => s !== PurchaseStatus.Settled);
      await watcher.waitFor(purchaseId, ends);
      t.endedAt = since();
    };

    // Faults and load start together.
    const faults = opts.faults
      ? new FaultSchedule(
          opts.faults,
          { supervisor: stack.supervisor, pg: stack.pg, solanaRpcUrl: config.solanaRpcUrl, proxies, log: logLine },
          faultRandom,
        )
      : undefined;
    loadStart = Date.now();
    faults?.start();
    const report = () => {
      const count = (pred: (t: Tracked) => boolean) => tracked.filter(pred).length;
      const c = faults?.counters;
      const chainFaults = c ? Object.values(c.chainFaults).reduce((a, b) => a + b, 0) : 0;
      progress(
        `[chaos +${Math.round(since() / 1000)}s] checkout ${count((t) => t.purchaseId !== undefined)}/${plans.length} · settled ${count((t) => t.settledAt !== undefined)} · ended ${count((t) => t.endedAt !== undefined)}` +
          ` · waiting approval ${count((t) => t.status === PurchaseStatus.AwaitingApproval)} treasury ${count((t) => t.status === PurchaseStatus.AwaitingTreasury)}` +
          (c ? ` · kills worker ${c.workerKills} api ${c.apiKills} temporal ${c.temporalKills} · pg restarts ${c.postgresRestarts}` : '') +
          ` · injected stripe ${proxies.stripe.counts.errors + proxies.stripe.counts.held} chain ${proxies.solana.counts.errors + proxies.solana.counts.held + proxies.evm.counts.errors + proxies.evm.counts.held + chainFaults}` +
          ` · redeliveries ${deliverer.stats.redeliveries}`,
      );
    };
    const ticker = setInterval(report, 5_000);

    const replenished: Record<string, string> = {};
    let topUpError: string | undefined;
    const replenishAt = Math.round(plans.length * 0.55);
    const tasks = tracked.map(async (t, i) => {
      await drive(t).catch((err: unknown) => {
        t.driverError = err instanceof Error ? err.message : String(err);
      });
      return i;
    });
    // The treasury runs short; the platform's payout lands halfway through the load.
    const topUp = opts.treasuryShort
      ? (async () => {
          await sleep(Math.max(0, (plans[replenishAt]?.arrivalMs ?? 0) - since()));
          for (const [rail, amount] of poolByRail) {
            const reference = `chaos-payout-${rail}`;
            if (rail === Rail.Evm && evmBank) await evmBank.transferToTreasury(amount);
            if (rail === Rail.Solana) await mintSolanaTreasury(config, amount);
            const res = await api.call(
              'POST',
              '/admin/treasury/replenished',
              { rail, amountMicroUsdc: amount.toString(), reference },
              { admin: true },
            );
            if (res.status !== 202) throw new Error(`replenished answered ${res.status}: ${JSON.stringify(res.json)}`);
            replenished[rail] = amount.toString();
          }
          logLine('[chaos] treasury replenished');
        })().catch((err: unknown) => {
          topUpError = err instanceof Error ? err.message : String(err);
          progress(`[chaos] the treasury top-up failed: ${topUpError}`);
        })
      : Promise.resolve();

    // The faults run until every purchase of the load has been paid for.
    const paidAll = (async () => {
      while (tracked.some((t) => t.paidAt === undefined && t.driverError === undefined)) await sleep(250);
    })();
    await paidAll;
    await topUp;
    await faults?.stop();
    const faultEnd = since();
    progress(
      `[chaos] faults stopped after ${Math.round(faultEnd / 1000)} s; waiting up to ${opts.drainTimeoutMs / 1000} s for every purchase to end`,
    );

    const allEnded = Promise.all(tasks);
    const drained = await Promise.race([allEnded.then(() => true), sleep(opts.drainTimeoutMs).then(() => false)]);
    const drainEnd = since();
    if (!drained)
      progress(
        `[chaos] drain deadline passed with ${tracked.filter((t) => t.endedAt === undefined && !t.driverError).length} purchases unfinished`,
      );
    clearInterval(ticker);
    watcher.stop();
    report();
    // Let redeliveries still in flight finish (each has its own deadline), so the audit sees every event.
    await Promise.race([deliverer.drain(), sleep(30_000)]);

    const balances = await checkBalances(config, db, products);
    progress('[chaos] auditing the books against both chains (npm run audit)');
    const audit = await auditStack(stack.env);
    const settled = tracked.filter((t) => t.settledAt !== undefined);
    const latencies = settled.map((t) => (t.settledAt ?? 0) - (t.paidAt ?? 0)).sort((a, b) => a - b);
    const byStatus: Record<string, number> = {};
    for (const t of tracked)
      byStatus[t.status ?? (t.driverError ? 'driver_error' : 'unknown')] =
        (byStatus[t.status ?? (t.driverError ? 'driver_error' : 'unknown')] ?? 0) + 1;
    const lost = tracked.filter((t) => t.status !== t.expected);
    const lastEnd = Math.max(0, ...tracked.map((t) => t.endedAt ?? 0));
    const result: ChaosReport = {
      ok: false,
      seed: opts.seed,
      options: {
        ...settings,
        prices: opts.prices.map(String),
        approvalThresholdCents: opts.approvalThresholdCents.toString(),
        approvalPriceCents: opts.approvalPriceCents.toString(),
      },
      durations: {
        loadSeconds: Math.round((plans.at(-1)?.arrivalMs ?? 0) / 1000),
        faultSeconds: Math.round(faultEnd / 1000),
        drainSeconds: drained ? Math.round((lastEnd - faultEnd) / 1000) : null,
        totalSeconds: Math.round((Date.now() - started) / 1000),
      },
      purchases: {
        planned: plans.length,
        checkedOut: tracked.filter((t) => t.purchaseId !== undefined).length,
        byStatus,
        asExpected: tracked.length - lost.length,
        lost: lost.length,
        settled: settled.length,
        settledWhileFaulting: settled.filter((t) => (t.settledAt ?? 0) <= faultEnd).length,
        settledAfterFaults: settled.filter((t) => (t.settledAt ?? 0) > faultEnd).length,
        perSecond:
          Math.round((tracked.filter((t) => t.endedAt !== undefined).length / Math.max(1, (lastEnd || drainEnd) / 1000)) * 100) / 100,
        settleLatencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
      },
      lost: lost.slice(0, 50).map((t) => ({
        purchaseId: t.purchaseId ?? null,
        product: t.plan.product.key,
        expected: t.expected,
        status: t.status ?? null,
        failureType: t.failureType ?? null,
        driverError: t.driverError ?? null,
      })),
      paidTwice: balances.filter((b) => BigInt(b.onChainMicroUsdc) > BigInt(b.payoutRowsMicroUsdc)).length,
      missedPayouts: balances.filter((b) => BigInt(b.onChainMicroUsdc) < BigInt(b.payoutRowsMicroUsdc)).length,
      balanceFindings: balances,
      audit,
      faults: {
        ...(faults?.counters ?? { workerKills: 0, apiKills: 0, temporalKills: 0, postgresRestarts: 0, chainFaults: {} }),
        proxies: { stripe: { ...proxies.stripe.counts }, solana: { ...proxies.solana.counts }, evm: { ...proxies.evm.counts } },
      },
      deliveries: deliverer.stats,
      apiRetries: api.retries,
      treasury: { initialFundingMicroUsdc: initialFunding.toString(), replenished, ...(topUpError ? { error: topUpError } : {}) },
    };
    result.ok =
      drained &&
      audit.ok &&
      topUpError === undefined &&
      result.purchases.lost === 0 &&
      result.paidTwice === 0 &&
      result.missedPayouts === 0;
    return result;
  } finally {
    await db?.$disconnect().catch(() => undefined);
    await stack?.stop();
    await closeProxies();
    stackLog.end();
  }
}

/** The auditor as an operator runs it: its own process, the deployment's settings, JSON out. */
async function auditStack(env: Record<string, string>): Promise<ChaosReport['audit']> {
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'audit', 'cli.ts'), '--json'],
      { env: childProcessEnv(env), maxBuffer: 64 * 1024 * 1024, timeout: 600_000 },
      (err, out, errOut) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 2) : 0, stdout: out, stderr: errOut }),
    );
  });
  let report: AuditReport | undefined;
  try {
    report = JSON.parse(stdout) as AuditReport;
  } catch {
    report = undefined;
  }
  const findings: { code: string; message: string }[] = report?.findings ?? [
    { code: 'audit_failed', message: `the auditor exited ${code}: ${stderr.slice(-2_000)}` },
  ];
  const findingsByCode: Record<string, number> = {};
  for (const f of findings) findingsByCode[f.code] = (findingsByCode[f.code] ?? 0) + 1;
  return {
    ok: code === 0 && report?.ok === true,
    exitCode: code,
    counts: report?.counts ?? null,
    findingsByCode,
    findings: findings.slice(0, 50),
  };
}

/** Each collaborator's USDC on chain against the sum of its payout rows; a wallet only ever receives payouts. */
async function checkBalances(config: Readonly<Config>, db: Db, products: readonly ProductSpec[]): Promise<BalanceFinding[]> {
  const rows = await db.collaboratorPayment.groupBy({ by: ['wallet'], _sum: { amountMicroUsdc: true } });
  const booked = new Map(rows.map((r) => [r.wallet, r._sum.amountMicroUsdc ?? 0n]));
  const findings: BalanceFinding[] = [];
  const solana = new Connection(config.solanaRpcUrl, 'confirmed');
  const usdcMint = resolveUsdcMint(config);
  const evm = products.some((p) => p.rail === Rail.Evm) ? await evmUsdc(config) : undefined;
  for (const product of products) {
    for (const wallet of new Set(product.wallets)) {
      let onChain = 0n;
      if (product.rail === Rail.Evm) {
        onChain = evm ? ((await evm.getFunction('balanceOf')(wallet)) as bigint) : 0n;
      } else {
        const ata = getAssociatedTokenAddressSync(usdcMint, new PublicKey(wallet), true);
        const info = await solana.getTokenAccountBalance(ata).catch(() => undefined);
        onChain = info ? BigInt(info.value.amount) : 0n;
      }
      const rowsSum = booked.get(wallet) ?? 0n;
      if (onChain !== rowsSum)
        findings.push({ rail: product.rail, wallet, onChainMicroUsdc: onChain.toString(), payoutRowsMicroUsdc: rowsSum.toString() });
    }
  }
  return findings;
}

async function evmUsdc(config: Readonly<Config>): Promise<Contract> {
  const { usdc } = await evmRailFromConfig(config).contracts();
  return new Contract(usdc, testUsdcAbi, new JsonRpcProvider(config.evmRpcUrl));
}

/**
 * The local USDC mint's authority is the dev treasury: a top-up is an ordinary mintTo. The chain's
 * own faults (dropped transactions, expired blockhashes) hit it too, so it is sent the way the rail
 * sends: one signed transaction resent until it lands or its blockhash expires, and only then a new one.
 */
async function mintSolanaTreasury(config: Readonly<Config>, amount: bigint): Promise<void> {
  const connection = new Connection(config.solanaRpcUrl, 'confirmed');
  const treasury = loadTreasuryKeypair(config);
  const mint = resolveUsdcMint(config);
  const account = getAssociatedTokenAddressSync(mint, treasury.publicKey);
  // Every read is retried: the RPC answers 503 at times during the run.
  const read = async <T>(call: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await call();
      } catch (err) {
        if (attempt >= 50) throw err;
        await sleep(300);
      }
    }
  };
  for (let attempt = 1; attempt <= 10; attempt += 1) {
    const { blockhash, lastValidBlockHeight } = await read(() => connection.getLatestBlockhash('confirmed'));
    const tx = new Transaction({ feePayer: treasury.publicKey, blockhash, lastValidBlockHeight }).add(
      createMintToInstruction(mint, account, treasury.publicKey, amount),
    );
    tx.sign(treasury);
    const raw = tx.serialize();
    const signature = bs58.encode(tx.signature ?? new Uint8Array());
    const landed = async () =>
      (await read(() => connection.getSignatureStatuses([signature], { searchTransactionHistory: true }))).value[0];
    while ((await read(() => connection.getBlockHeight('confirmed'))) <= lastValidBlockHeight) {
      await connection.sendRawTransaction(raw, { skipPreflight: true }).catch(() => undefined);
      await sleep(400);
      const status = await landed();
      if (status?.err) throw new Error(`treasury top-up ${signature} failed: ${JSON.stringify(status.err)}`);
      if (status?.confirmationStatus === 'confirmed' || status?.confirmationStatus === 'finalized') return;
    }
    // Expired: it may still have landed in the last slot before expiry.
    const final = await landed();
    if (final && !final.err) return;
  }
  throw new Error('treasury top-up did not land in 10 blockhash windows');
}

/** anvil's second dev account: the platform's bank, funded before the load so a top-up is a plain transfer. */
const EVM_BANK_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

async function fundEvmBank(config: Readonly<Config>, amount: bigint): Promise<{ transferToTreasury(amount: bigint): Promise<void> }> {
  const provider = new JsonRpcProvider(config.evmRpcUrl);
  const { usdc, treasury } = await evmRailFromConfig(config).contracts();
  const owner = new Contract(usdc, testUsdcAbi, new Wallet(config.EVM_PRIVATE_KEY, provider));
  const bank = new Wallet(EVM_BANK_KEY, provider);
  await (await owner.getFunction('mint')(bank.address, amount)).wait();
  const asBank = new Contract(usdc, testUsdcAbi, bank);
  return {
    async transferToTreasury(value: bigint) {
      await (await asBank.getFunction('transfer')(treasury, value)).wait();
    },
  };
}
