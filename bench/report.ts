/**
 * The bench's results: what one run measured, the headline figures with their medians over the
 * runs, the printed tables and the comparison of two result files. Pure, so tests can feed it.
 */
import { EVENT_LOOP_SAMPLE_MS } from '../src/api/metrics';
import type { HistoryBreakdown } from './history';
import { PARKED_SETTLE_SECONDS, type BatchResult, type ParkedResult, type SingleResult, type SweepStep } from './measure';
import type { SolanaBenchResult } from './solana';
import { fmt, median, table } from './stats';

export interface RunResult {
  webhookAck: SweepStep[];
  statusRead: SweepStep[];
  single: SingleResult;
  baseline: BatchResult;
  purchases: BatchResult;
  solana: SolanaBenchResult;
}

export interface BenchResults {
  version: 1;
  commit: string;
  /** the working tree had changes the commit does not hold */
  dirty: boolean;
  startedAt: string;
  seconds: number;
  mode: 'quick' | 'full';
  machine: { cpus: number; model: string; memoryMiB: number; node: string; loadAvgStart: number[]; loadAvgEnd: number[] };
  options: Record<string, unknown>;
  runs: RunResult[];
  parked: ParkedResult | null;
  figures: Figure[];
}

export interface Figure {
  key: string;
  label: string;
  unit: string;
  /** better when higher (throughput) or lower (latency, memory) */
  better: 'higher' | 'lower';
  perRun: number[];
  median: number;
}

const stepAt = (steps: readonly SweepStep[], rate: number) => steps.find((s) => s.rate === rate);

/** The first rate that saturated (the sweep stops there); NaN when none did. */
export const saturationRate = (steps: readonly SweepStep[]): number => steps.find((s) => s.saturated)?.rate ?? NaN;

/** The goals table: each figure per run, then its median. */
export function figures(runs: readonly RunResult[], parked: ParkedResult | null, targets: { ackRate: number; readRate: number }): Figure[] {
  const fig = (key: string, label: string, unit: string, better: Figure['better'], perRun: number[]): Figure => ({
    key,
    label,
    unit,
    better,
    perRun,
    median: median(perRun),
  });
  const mib = (b: number) => b / 1024 / 1024;
  return [
    fig(
      'purchasesPerSecond',
      'sustained purchases/s',
      '/s',
      'higher',
      runs.map((r) => r.purchases.perSecond),
    ),
    fig(
      'baselinePerSecond',
      'bare baseline workflows/s (same server)',
      '/s',
      'higher',
      runs.map((r) => r.baseline.perSecond),
    ),
    fig(
      'purchasesVsBaseline',
      'purchases/s ÷ baseline/s',
      'x',
      'higher',
      runs.map((r) => r.purchases.perSecond / r.baseline.perSecond),
    ),
    fig(
      'settleAloneP50Ms',
      'webhook → settled, one purchase alone, p50',
      'ms',
      'lower',
      runs.map((r) => r.single.settleMs.p50),
    ),
    fig(
      'baselineAloneP50Ms',
      'baseline start → closed, alone, p50',
      'ms',
      'lower',
      runs.map((r) => r.single.baselineMs.p50),
    ),
    fig(
      'webhookAckP99Ms',
      `webhook ack p99, open loop ${targets.ackRate}/s (API process)`,
      'ms',
      'lower',
      runs.map((r) => stepAt(r.webhookAck, targets.ackRate)?.latencyMs.p99 ?? NaN),
    ),
    fig(
      'webhookAckSaturationRate',
      'webhook ack: first saturated rate',
      '/s',
      'higher',
      runs.map((r) => saturationRate(r.webhookAck)),
    ),
    fig(
      'statusReadP99Ms',
      `status read p99, open loop ${targets.readRate}/s`,
      'ms',
      'lower',
      runs.map((r) => stepAt(r.statusRead, targets.readRate)?.latencyMs.p99 ?? NaN),
    ),
    fig(
      'statusReadSaturationRate',
      'status read: first saturated rate',
      '/s',
      'higher',
      runs.map((r) => saturationRate(r.statusRead)),
    ),
    fig(
      'apiEventLoopP99Ms',
      `API event-loop lag p99 during the ${targets.ackRate}/s acks (beyond its ${EVENT_LOOP_SAMPLE_MS} ms sampling period)`,
      'ms',
      'lower',
      runs.map((r) => stepAt(r.webhookAck, targets.ackRate)?.eventLoopP99Ms ?? NaN),
    ),
    fig(
      'ackApiCpuMsPerRequest',
      `API CPU per webhook ack at ${targets.ackRate}/s`,
      'ms',
      'lower',
      runs.map((r) => stepAt(r.webhookAck, targets.ackRate)?.apiCpuMsPerRequest ?? NaN),
    ),
    fig(
      'readApiCpuMsPerRequest',
      `API CPU per status read at ${targets.readRate}/s`,
      'ms',
      'lower',
      runs.map((r) => stepAt(r.statusRead, targets.readRate)?.apiCpuMsPerRequest ?? NaN),
    ),
    fig(
      'readFromCachePercent',
      `status reads answered from the status cache at ${targets.readRate}/s`,
      '%',
      'higher',
      runs.map((r) => 100 * (stepAt(r.statusRead, targets.readRate)?.statusReadsFromMemory ?? NaN)),
    ),
    fig(
      'workerRssParkedMiB',
      `worker RSS, ${parked?.parked ?? 0} workflows parked, steady (${PARKED_SETTLE_SECONDS} s on)`,
      'MiB',
      'lower',
      parked ? [mib(parked.workerRssBytes)] : [],
    ),
    fig(
      'workerRssJustParkedMiB',
      `worker RSS, ${parked?.parked ?? 0} workflows parked, just after`,
      'MiB',
      'lower',
      parked ? [mib(parked.workerRssJustParkedBytes)] : [],
    ),
    fig(
      'solanaInProcessVsRpc',
      'Solana rail on in-process LiteSVM ÷ over JSON-RPC (throughput)',
      'x',
      'higher',
      runs.map((r) => r.solana.ratio),
    ),
    fig(
      'solanaRpcPerSecond',
      'Solana rail over JSON-RPC, sequential',
      '/s',
      'higher',
      runs.map((r) => r.solana.rpc.perSecond),
    ),
    fig(
      'solanaInProcessPerSecond',
      'Solana rail on in-process LiteSVM, sequential',
      '/s',
      'higher',
      runs.map((r) => r.solana.inProcess.perSecond),
    ),
  ];
}

const digits = (unit: string) => (unit === 'x' ? 2 : unit === '/s' ? 1 : 0);

export function figuresTable(figs: readonly Figure[]): string {
  return table(
    ['figure', 'median', 'unit', 'per run'],
    figs.map((f) => [f.label, fmt(f.median, digits(f.unit)), f.unit, f.perRun.map((v) => fmt(v, digits(f.unit))).join(' / ')]),
  );
}

/** Each rate of a sweep, medians over the runs that reached it. */
export function sweepTable(name: string, sweeps: readonly (readonly SweepStep[])[]): string {
  const rates = [...new Set(sweeps.flatMap((s) => s.map((step) => step.rate)))].sort((a, b) => a - b);
  const rows = rates.map((rate) => {
    const steps = sweeps.map((s) => stepAt(s, rate)).filter((s): s is SweepStep => s !== undefined);
    const m = (f: (s: SweepStep) => number) => median(steps.map(f));
    return [
      `${name} ${rate}/s`,
      fmt(
        m((s) => s.seconds),
        0,
      ),
      String(steps.length),
      fmt(
        m((s) => s.achievedPerSecond),
        0,
      ),
      fmt(
        m((s) => s.latencyMs.p50),
        1,
      ),
      fmt(
        m((s) => s.latencyMs.p99),
        1,
      ),
      fmt(
        m((s) => s.eventLoopP99Ms),
        1,
      ),
      fmt(
        m((s) => s.apiGcMsPerSecond),
        1,
      ),
      fmt(
        m((s) => s.apiCpuMsPerRequest),
        2,
      ),
      String(steps.reduce((n, s) => n + s.non2xx + s.errors, 0)),
      `${steps.filter((s) => s.saturated).length}/${steps.length}`,
    ];
  });
  return table(
    [
      'open loop',
      'step s',
      'runs',
      'achieved/s',
      'p50 ms',
      'p99 ms',
      'API loop lag p99 ms',
      'API GC ms/s',
      'API CPU ms/req',
      'non-2xx+err',
      'saturated',
    ],
    rows,
  );
}

/** One purchase's history next to one baseline run's, step by step. */
export function breakdownTable(purchase: HistoryBreakdown | null, baseline: HistoryBreakdown | null): string {
  const n = Math.max(purchase?.activities.length ?? 0, baseline?.activities.length ?? 0);
  const rows: string[][] = [];
  for (let i = 0; i < n; i += 1) {
    const p = purchase?.activities[i];
    const b = baseline?.activities[i];
    rows.push([
      `${i + 1}. ${p?.name ?? b?.name ?? '?'}`,
      fmt(p?.scheduleToStartMs ?? NaN, 1),
      fmt(p?.runMs ?? NaN, 1),
      fmt(b?.scheduleToStartMs ?? NaN, 1),
      fmt(b?.runMs ?? NaN, 1),
    ]);
  }
  const wt = (h: HistoryBreakdown | null) => h?.workflowTasks;
  rows.push([
    `workflow tasks (purchase ${wt(purchase)?.count ?? 0}, baseline ${wt(baseline)?.count ?? 0}), summed`,
    fmt(wt(purchase)?.scheduleToStartMs ?? NaN, 1),
    fmt(wt(purchase)?.runMs ?? NaN, 1),
    fmt(wt(baseline)?.scheduleToStartMs ?? NaN, 1),
    fmt(wt(baseline)?.runMs ?? NaN, 1),
  ]);
  rows.push([
    `whole run, first event → last (upserts ${purchase?.searchAttributeUpserts ?? 0} / ${baseline?.searchAttributeUpserts ?? 0})`,
    '',
    fmt(purchase?.totalMs ?? NaN, 1),
    '',
    fmt(baseline?.totalMs ?? NaN, 1),
  ]);
  return table(['step', 'purchase sched→start ms', 'purchase run ms', 'baseline sched→start ms', 'baseline run ms'], rows);
}

/** CPU milliseconds per purchase and per baseline run, by process, medians over the runs. */
export function cpuTable(runs: readonly RunResult[]): string {
  const names = [
    ...new Set(runs.flatMap((r) => [...Object.keys(r.purchases.cpuSecondsPerRun), ...Object.keys(r.baseline.cpuSecondsPerRun)])),
  ];
  const m = (f: (r: RunResult) => number | undefined) => median(runs.map((r) => f(r) ?? NaN)) * 1000;
  const rows = names.map((name) => [
    name,
    fmt(
      m((r) => r.purchases.cpuSecondsPerRun[name]),
      1,
    ),
    fmt(
      m((r) => r.baseline.cpuSecondsPerRun[name]),
      1,
    ),
  ]);
  const sum = (f: (r: RunResult) => Record<string, number>) =>
    median(runs.map((r) => Object.values(f(r)).reduce((a, b) => a + b, 0))) * 1000;
  rows.push([
    'all of them',
    fmt(
      sum((r) => r.purchases.cpuSecondsPerRun),
      1,
    ),
    fmt(
      sum((r) => r.baseline.cpuSecondsPerRun),
      1,
    ),
  ]);
  return table(['process', 'CPU ms / purchase', 'CPU ms / baseline run'], rows);
}

/** Two result files' figures side by side: b against a. */
export function compareTable(a: BenchResults, b: BenchResults): string {
  const byKey = new Map(b.figures.map((f) => [f.key, f]));
  const rows = a.figures.map((fa) => {
    const fb = byKey.get(fa.key);
    const change = fb && Number.isFinite(fa.median) && fa.median !== 0 ? ((fb.median - fa.median) / fa.median) * 100 : NaN;
    const verdict = !Number.isFinite(change) || Math.abs(change) < 5 ? '' : change > 0 === (fa.better === 'higher') ? 'better' : 'worse';
    return [
      fa.label,
      fmt(fa.median, digits(fa.unit)),
      fmt(fb?.median ?? NaN, digits(fa.unit)),
      fa.unit,
      Number.isFinite(change) ? `${change > 0 ? '+' : ''}${change.toFixed(0)}%` : '—',
      verdict,
    ];
  });
  return table(['figure', a.commit, b.commit, 'unit', 'change', ''], rows);
}
