/**
 * `npm run bench`: the engine laid out as `npm start` lays it out (each component its own
 * process), load from a separate process (vegeta, open loop at fixed rates, swept up to
 * saturation), and a bare baseline workflow on the same Temporal server so every throughput is
 * read against Temporal's own ceiling here. Three runs, medians, one table; the results go to
 * bench/results/<commit>.json so two commits can be compared. Measures, never asserts.
 *
 *   npm run bench                        full: 3 runs + 1,000 parked workflows (many minutes)
 *   npm run bench -- --quick             1 run, small counts: a sanity check in about a minute
 *   npm run bench -- --compare a.json b.json
 *   options: --runs N --ack-rates 25,50,100 --read-rates 250,500,1000 --step-seconds S --hold-seconds S --batch N
 *            --single N --parked N --solana-seconds S --settle-timeout S --workers N --slot-ms MS --out file.json
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../dev/tools';
import type { PaymentRefs } from '../dev/stripe-test-events';
import { startBenchEngine, type BenchEngine } from './engine';
import {
  baselineBatch,
  parkAndMeasure,
  purchaseBatch,
  single,
  statusReadSweep,
  webhookAckSweep,
  webhookAckSweepSize,
  type ParkedResult,
  type SweepTiming,
} from './measure';
import { breakdownTable, compareTable, cpuTable, figures, figuresTable, sweepTable, type BenchResults, type RunResult } from './report';
import { runSolanaBench } from './solana';
import { pool } from './stats';

const { values: args, positionals } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    compare: { type: 'boolean', default: false },
    runs: { type: 'string' },
    'ack-rates': { type: 'string' },
    'read-rates': { type: 'string' },
    'step-seconds': { type: 'string' },
    'hold-seconds': { type: 'string' },
    batch: { type: 'string' },
    single: { type: 'string' },
    parked: { type: 'string' },
    'solana-seconds': { type: 'string' },
    'settle-timeout': { type: 'string' },
    workers: { type: 'string' },
    'slot-ms': { type: 'string' },
    out: { type: 'string' },
  },
  allowPositionals: true,
  strict: true,
});

const progress = (line: string) => process.stderr.write(`· ${line}\n`);
const quick = args.quick === true;

function int(name: keyof typeof args, full: number, fast: number, min = 1): number {
  const raw = args[name];
  if (raw === undefined || typeof raw === 'boolean') return quick ? fast : full;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${raw}`);
  return n;
}

function rates(name: keyof typeof args, full: number[], fast: number[]): number[] {
  const raw = args[name];
  if (typeof raw !== 'string') return quick ? fast : full;
  const list = raw.split(',').map(Number);
  if (list.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`--${name} must be a comma-separated list of positive integers`);
  return list.sort((a, b) => a - b);
}

/** The rates whose p99 is the headline figure; the sweeps always include them. */
const ACK_TARGET = 100;
const READ_TARGET = 1000;

const opts = {
  runs: int('runs', 3, 1),
  ackRates: [...new Set([...rates('ack-rates', [25, 50, 100, 200, 400], [100]), ACK_TARGET])].sort((a, b) => a - b),
  readRates: [...new Set([...rates('read-rates', [250, 500, 1000, 2000, 4000], [1000]), READ_TARGET])].sort((a, b) => a - b),
  stepSeconds: int('step-seconds', 3, 2),
  /**
   * The step at each headline rate (ACK_TARGET, READ_TARGET) runs this long: a p99 over a 3-second
   * step at 100/s is its third-slowest answer, which one stall anywhere on the machine decides.
   */
  holdSeconds: int('hold-seconds', 20, 5),
  /**
   * Purchases (and baseline runs) started at once for the throughput figure: enough that the rate is
   * the sustained one, not the batch's ramp. At 50 the first and last second of a 4-second batch
   * weighed on the purchase, whose path to its first activity is longer (webhook, actor, start).
   */
  batch: int('batch', 200, 10),
  single: int('single', 3, 2),
  parked: int('parked', 1000, 50, 0),
  solanaSeconds: int('solana-seconds', 5, 2),
  settleTimeoutSeconds: int('settle-timeout', 300, 120),
  /** engine worker processes on the one Temporal server; the parked-workflow RSS is the first one's */
  workers: int('workers', 1, 1),
  /**
   * The local chain's slot length (SOLANA_SLOT_MS). A settlement waits about one slot for its
   * confirmation: at Solana's 400 ms the chain, not the engine, would set a purchase's latency, so
   * the bench runs short slots and its breakdown shows the chain's share (settleOnChain).
   */
  slotMs: int('slot-ms', 50, 50),
};

/** A sweep's steps: `--hold-seconds` at its headline rate, `--step-seconds` elsewhere, after a 1-s warm-up. */
const sweepTiming = (headlineRate: number): SweepTiming => ({
  secondsAt: (rate) => (rate === headlineRate ? opts.holdSeconds : opts.stepSeconds),
  warmupSeconds: 1,
});
const ackTiming = sweepTiming(ACK_TARGET);
const readTiming = sweepTiming(READ_TARGET);

const SETTLE_PRICE_CENTS = 500n;
const PARKED_PRICE_CENTS = 2500n;
const APPROVAL_THRESHOLD_CENTS = 1000n;
const RESULTS_DIR = path.join(PROJECT_ROOT, 'bench', 'results');

function git(...argv: string[]): string {
  try {
    return execFileSync('git', argv, { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

async function prepare(engine: BenchEngine, productId: string, n: number, pay: boolean): Promise<PaymentRefs[]> {
  return pool(Array.from({ length: n }), 8, () => engine.checkout(productId, pay));
}

async function drainParkedBacklog(engine: BenchEngine, timeoutMs: number, log: (line: string) => void): Promise<void> {
  const t0 = Date.now();
  let left = await engine.parkedBacklog();
  while (left > 0 && Date.now() - t0 < timeoutMs) {
    await new Promise((r) => setTimeout(r, 250));
    left = await engine.parkedBacklog();
  }
  log(
    `parked actor: ${left === 0 ? 'caught up' : `${left} events still not acted on`} ${((Date.now() - t0) / 1000).toFixed(1)} s after the acks`,
  );
}

function compare(files: string[]): void {
  if (files.length !== 2) throw new Error('--compare takes two result files: npm run bench -- --compare a.json b.json');
  const [a, b] = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as BenchResults);
  if (!a || !b) return;
  console.log(
    `${a.commit} (${a.startedAt}, load ${a.machine.loadAvgStart.map((l) => l.toFixed(1)).join(' ')}) → ${b.commit} (${b.startedAt}, load ${b.machine.loadAvgStart.map((l) => l.toFixed(1)).join(' ')})`,
  );
  console.log(compareTable(a, b));
}

async function main(): Promise<void> {
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const cpus = os.cpus();
  const loadAvgStart = os.loadavg();
  const commit = git('rev-parse', '--short=12', 'HEAD') || 'unknown';
  const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const stackLogFile = path.join(RESULTS_DIR, `${commit}.stack.log`);
  const stackLog = fs.createWriteStream(stackLogFile);
  console.log(
    `settlement engine bench (${quick ? 'quick' : 'full'})  ${startedAt}  commit ${commit}${dirty ? ' + uncommitted changes' : ''}`,
  );
  console.log(
    `machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown cpu'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load avg at start ${loadAvgStart.map((l) => l.toFixed(2)).join(' ')}`,
  );
  console.log(`options: ${JSON.stringify(opts)}`);

  const engine = await startBenchEngine({
    approvalThresholdCents: APPROVAL_THRESHOLD_CENTS,
    log: progress,
    stackLog: (line) => stackLog.write(`${line}\n`),
    workers: opts.workers,
    slotMs: opts.slotMs,
  });
  const runs: RunResult[] = [];
  let parked: ParkedResult | null = null;
  try {
    const settleProduct = await engine.createProduct(SETTLE_PRICE_CENTS);
    const parkedProduct = await engine.createProduct(PARKED_PRICE_CENTS);
    const ackProduct = await engine.createProduct(PARKED_PRICE_CENTS, true);
    // Warm-up: JIT in every process, the collaborators' token accounts, the worker's workflow cache.
    const warm = await prepare(engine, settleProduct, 3, true);
    await purchaseBatch(engine, warm, opts.settleTimeoutSeconds * 1000, progress);
    await baselineBatch(engine, 10);
    progress('warmed up');

    for (let run = 1; run <= opts.runs; run += 1) {
      progress(`run ${run}/${opts.runs}`);
      const ackNeeded = webhookAckSweepSize(opts.ackRates, ackTiming);
      const t0 = Date.now();
      const ackRefs = await prepare(engine, ackProduct, ackNeeded, false);
      const settleRefs = await prepare(engine, settleProduct, opts.single + opts.batch, true);
      progress(`prepared ${ackRefs.length + settleRefs.length} checkouts (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      const webhookAck = await webhookAckSweep(engine, ackRefs, opts.ackRates, ackTiming, progress);
      // The reads are measured alone: not beside the parked actor still starting the runs just acknowledged.
      await drainParkedBacklog(engine, opts.settleTimeoutSeconds * 1000, progress);
      const statusRead = await statusReadSweep(
        engine,
        ackRefs.map((r) => r.purchaseId),
        opts.readRates,
        readTiming,
        progress,
      );
      const alone = await single(engine, settleRefs.slice(0, opts.single), opts.single, opts.settleTimeoutSeconds * 1000, progress);
      progress(`alone: purchase p50 ${alone.settleMs.p50.toFixed(0)} ms, baseline p50 ${alone.baselineMs.p50.toFixed(0)} ms`);
      const baseline = await baselineBatch(engine, opts.batch);
      progress(`baseline: ${opts.batch} at once, ${baseline.perSecond.toFixed(1)}/s`);
      const purchases = await purchaseBatch(engine, settleRefs.slice(opts.single), opts.settleTimeoutSeconds * 1000, progress);
      progress(`purchases: ${opts.batch} at once, ${purchases.completed} settled, ${purchases.perSecond.toFixed(1)}/s`);
      const solana = await runSolanaBench(engine.config, opts.solanaSeconds);
      progress(
        `solana: ${solana.rpc.perSecond.toFixed(1)} settlements/s over JSON-RPC (p50 ${solana.rpc.latencyMs.p50.toFixed(1)} ms), ` +
          `${solana.inProcess.perSecond.toFixed(1)}/s in-process (p50 ${solana.inProcess.latencyMs.p50.toFixed(1)} ms)`,
      );
      runs.push({ webhookAck, statusRead, single: alone, baseline, purchases, solana });
    }
    if (opts.parked > 0) {
      progress(`parking ${opts.parked} purchases at the approval step`);
      const refs = await prepare(engine, parkedProduct, opts.parked, true);
      parked = await parkAndMeasure(engine, refs, Math.max(opts.settleTimeoutSeconds * 1000, opts.parked * 1000), progress);
    }
  } finally {
    progress('stopping the stack');
    await engine.close();
    stackLog.end();
  }

  const figs = figures(runs, parked, { ackRate: ACK_TARGET, readRate: READ_TARGET });
  const loadAvgEnd = os.loadavg();
  const results: BenchResults = {
    version: 1,
    commit,
    dirty,
    startedAt,
    seconds: (Date.now() - started) / 1000,
    mode: quick ? 'quick' : 'full',
    machine: {
      cpus: cpus.length,
      model: cpus[0]?.model.trim() ?? 'unknown',
      memoryMiB: Math.round(os.totalmem() / 2 ** 20),
      node: process.version,
      loadAvgStart,
      loadAvgEnd,
    },
    options: opts,
    runs,
    parked,
    figures: figs,
  };
  const out = typeof args.out === 'string' ? args.out : path.join(RESULTS_DIR, `${commit}${quick ? '-quick' : ''}.json`);
  fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);

  const last = runs.at(-1);
  console.log('');
  console.log(figuresTable(figs));
  console.log('');
  console.log(
    sweepTable(
      'webhook ack',
      runs.map((r) => r.webhookAck),
    ),
  );
  console.log(
    sweepTable(
      'status read',
      runs.map((r) => r.statusRead),
    ),
  );
  console.log('');
  console.log('one purchase alone vs one baseline run alone, from their Temporal histories (last run):');
  console.log(breakdownTable(last?.single.breakdown ?? null, last?.single.baselineBreakdown ?? null));
  console.log('');
  console.log(`CPU per run by process (batches of ${opts.batch}; /proc utime+stime; postgres includes its backends):`);
  console.log(cpuTable(runs));
  if (parked) {
    const mib = (b: number) => (b / 2 ** 20).toFixed(0);
    console.log('');
    console.log(
      `worker RSS: ${mib(parked.workerRssBytes)} MiB steady with ${parked.parked}/${parked.requested} workflows parked (${mib(parked.workerRssJustParkedBytes)} MiB just after they parked; idle before: ${mib(parked.workerRssIdleBytes)} MiB; samples every 2 s ${parked.samplesBytes.map(mib).join(', ')} MiB); workflow cache ${parked.maxCachedWorkflows} (${parked.maxCachedWorkflowsSource})`,
    );
  }
  console.log('');
  console.log(
    `${(results.seconds / 60).toFixed(1)} min; load avg at start ${loadAvgStart.map((l) => l.toFixed(2)).join(' ')}, at end ${loadAvgEnd.map((l) => l.toFixed(2)).join(' ')}; results in ${path.relative(process.cwd(), out)}, stack log ${path.relative(process.cwd(), stackLogFile)}`,
  );
}

(args.compare === true ? Promise.resolve(compare(positionals)) : main()).then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
