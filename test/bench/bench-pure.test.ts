/** The bench's pure parts: statistics, the history breakdown, /proc parsing, the figures. No timings asserted. */
import { breakdownHistory, breakdownTotals, type HistoryEventLike } from '../../bench/history';
import { loadResultOf } from '../../bench/load';
import { parseProcStat } from '../../bench/proc';
import { compareTable, figures, saturationRate, type BenchResults, type RunResult } from '../../bench/report';
import { webhookAckSweepSize, type SweepStep } from '../../bench/measure';
import { median, percentile, spanRate, summarize } from '../../bench/stats';

describe('sweep timing', () => {
  it("counts one checkout per webhook: the warm-up's at the first rate, then each step's at its own length", () => {
    const timing = { secondsAt: (rate: number) => (rate === 100 ? 20 : 3), warmupSeconds: 1 };
    expect(webhookAckSweepSize([25, 50, 100], timing)).toBe(25 + 25 * 3 + 50 * 3 + 100 * 20);
    expect(webhookAckSweepSize([], timing)).toBe(0);
  });
});

describe('load results', () => {
  // The shape `vegeta report -type=json` prints (durations in ns), from a 2-second step at 100/s.
  const report = {
    latencies: {
      total: 0,
      mean: 2_500_000,
      '50th': 1_900_000,
      '90th': 3_100_000,
      '95th': 4_000_000,
      '99th': 12_400_000,
      max: 31_000_000,
      min: 600_000,
    },
    duration: 1_990_000_000,
    wait: 10_000_000,
    requests: 200,
    throughput: 97.5,
    status_codes: { '200': 195, '503': 3, '0': 2 },
    errors: ['Post "http://127.0.0.1:1/webhooks/stripe": dial tcp: connection refused'],
  };

  it('reads latencies in ms, 2xx throughput, and splits non-2xx answers from unanswered requests', () => {
    expect(loadResultOf(100, report)).toEqual({
      rate: 100,
      seconds: 2,
      sent: 200,
      completed: 198,
      achievedPerSecond: 97.5,
      latencyMs: { p50: 1.9, p90: 3.1, p99: 12.4, max: 31, mean: 2.5 },
      non2xx: 3,
      errors: 2,
      statusCodes: { '200': 195, '503': 3, '0': 2 },
    });
  });

  it('counts a step with every answer 2xx as clean', () => {
    const clean = loadResultOf(100, { ...report, status_codes: { '200': 150, '202': 50 }, errors: null });
    expect([clean.non2xx, clean.errors, clean.completed]).toEqual([0, 0, 200]);
  });
});

describe('stats', () => {
  it('takes nearest-rank percentiles and medians', () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99)).toBe(10);
    expect(percentile([], 50)).toBeNaN();
    expect(summarize([3, 1, 2])).toEqual({ count: 3, p50: 2, p99: 3, max: 3 });
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([NaN, 7])).toBe(7);
    expect(median([])).toBeNaN();
  });

  it('rates a batch from its first start to its last completion', () => {
    expect(spanRate(1_000, [1_500, 2_000, 3_000])).toBe(1.5);
    expect(spanRate(1_000, [])).toBeNaN();
  });
});

// Protobuf timestamps as the client decodes them: seconds may be a Long (anything with toString).
const at = (ms: number) => ({ seconds: { toString: () => String(Math.floor(ms / 1000)) }, nanos: (ms % 1000) * 1e6 });
const ev = (id: number, ms: number, attrs: Partial<HistoryEventLike>): HistoryEventLike => ({ eventId: id, eventTime: at(ms), ...attrs });

describe('breakdownHistory', () => {
  const events: HistoryEventLike[] = [
    ev(1, 10_000, {}), // WorkflowExecutionStarted
    ev(2, 10_000, { workflowTaskScheduledEventAttributes: {} }),
    ev(3, 10_004, { workflowTaskStartedEventAttributes: { scheduledEventId: 2 } }),
    ev(4, 10_010, { workflowTaskCompletedEventAttributes: { scheduledEventId: 2 } }),
    ev(5, 10_010, { activityTaskScheduledEventAttributes: { activityType: { name: 'loadPurchase' } } }),
    ev(6, 10_010, { upsertWorkflowSearchAttributesEventAttributes: {} }),
    ev(7, 10_030, { activityTaskStartedEventAttributes: { scheduledEventId: 5 } }),
    ev(8, 10_080, { activityTaskCompletedEventAttributes: { scheduledEventId: 5 } }),
    ev(9, 10_080, { workflowTaskScheduledEventAttributes: {} }),
    ev(10, 10_090, { workflowTaskStartedEventAttributes: { scheduledEventId: 9 } }),
    ev(11, 10_095, { workflowTaskCompletedEventAttributes: { scheduledEventId: 9 } }),
    ev(12, 10_095, { activityTaskScheduledEventAttributes: { activityType: { name: 'settleOnChain' } } }),
    ev(13, 10_100, { activityTaskStartedEventAttributes: { scheduledEventId: 12 } }),
    ev(14, 10_400, { activityTaskFailedEventAttributes: { scheduledEventId: 12 } }),
    ev(15, 10_401, {}), // WorkflowExecutionFailed
  ];

  it('times every activity and workflow task from the history events', () => {
    const b = breakdownHistory(events);
    expect(b.activities).toEqual([
      { name: 'loadPurchase', scheduleToStartMs: 20, runMs: 50, outcome: 'completed' },
      { name: 'settleOnChain', scheduleToStartMs: 5, runMs: 300, outcome: 'failed' },
    ]);
    expect(b.workflowTasks).toEqual({ count: 2, scheduleToStartMs: 14, runMs: 11 });
    expect(b.searchAttributeUpserts).toBe(1);
    expect(b.totalMs).toBe(401);
    expect(b.events).toBe(15);
    expect(breakdownTotals(b)).toEqual({
      activityScheduleToStartMs: 25,
      activityRunMs: 350,
      workflowTaskScheduleToStartMs: 14,
      workflowTaskRunMs: 11,
    });
  });
});

describe('parseProcStat', () => {
  it('reads ppid and utime+stime past a command name with spaces and parentheses', () => {
    // fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
    const line = '4242 (node (worker) x) S 17 4242 4242 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 11 0 1000 1000000 5000';
    expect(parseProcStat(line)).toEqual({ pid: 4242, ppid: 17, cpuSeconds: 3 });
    expect(parseProcStat('garbage')).toBeUndefined();
  });
});

const step = (rate: number, p99: number, isSaturated: boolean): SweepStep => ({
  rate,
  seconds: 1,
  sent: rate,
  completed: rate,
  achievedPerSecond: rate,
  latencyMs: { p50: p99 / 2, p90: p99, p99, max: p99, mean: p99 / 2 },
  non2xx: 0,
  errors: 0,
  statusCodes: { 200: rate },
  saturated: isSaturated,
  eventLoopP99Ms: 3,
  eventLoopMaxMs: 5,
  apiGcMsPerSecond: 4,
  apiCpuMsPerRequest: 0.5,
  statusReadsFromMemory: null,
  cpuMsPerRequest: { api: 0.5 },
});
const batch = (perSecond: number) => ({ n: 10, completed: 10, perSecond, latencyMs: summarize([1]), cpuSecondsPerRun: { worker: 0.1 } });
const run = (purchases: number, baseline: number): RunResult => ({
  webhookAck: [step(50, 10, false), step(100, 20, false), step(200, 90, true)],
  statusRead: [step(1000, 30, false)],
  single: { settleMs: summarize([900]), breakdown: null, baselineMs: summarize([300]), baselineBreakdown: null },
  baseline: batch(baseline),
  purchases: batch(purchases),
  solana: {
    payouts: 3,
    rpc: { name: 'rpc', count: 10, seconds: 1, perSecond: 10, latencyMs: summarize([100]) },
    inProcess: { name: 'svm', count: 40, seconds: 1, perSecond: 40, latencyMs: summarize([25]) },
    ratio: 4,
  },
});

describe('figures', () => {
  it('reports medians over the runs and each throughput against the baseline', () => {
    const figs = figures([run(2, 8), run(3, 6), run(1, 10)], null, { ackRate: 100, readRate: 1000 });
    const get = (key: string) => figs.find((f) => f.key === key);
    expect(get('purchasesPerSecond')?.median).toBe(2);
    expect(get('purchasesVsBaseline')?.perRun).toEqual([0.25, 0.5, 0.1]);
    expect(get('purchasesVsBaseline')?.median).toBe(0.25);
    expect(get('webhookAckP99Ms')?.median).toBe(20);
    expect(get('webhookAckSaturationRate')?.median).toBe(200);
    expect(get('statusReadSaturationRate')?.median).toBeNaN();
    expect(get('solanaRpcPerSecond')?.median).toBe(10);
    expect(get('solanaInProcessVsRpc')?.median).toBe(4);
    expect(saturationRate([step(10, 1, false)])).toBeNaN();
  });

  it('compares two result files figure by figure', () => {
    const results = (commit: string, r: RunResult): BenchResults => ({
      version: 1,
      commit,
      dirty: false,
      startedAt: '',
      seconds: 0,
      mode: 'quick',
      machine: { cpus: 2, model: '', memoryMiB: 0, node: '', loadAvgStart: [0, 0, 0], loadAvgEnd: [0, 0, 0] },
      options: {},
      runs: [r],
      parked: null,
      figures: figures([r], null, { ackRate: 100, readRate: 1000 }),
    });
    const text = compareTable(results('aaa', run(2, 8)), results('bbb', run(4, 8)));
    expect(text).toMatch(/sustained purchases\/s\s+2\.0\s+4\.0\s+\/s\s+\+100%\s+better/);
  });
});
