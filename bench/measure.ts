/**
 * The measurements, each against the running engine (bench/engine.ts). Load comes from vegeta in
 * its own process (bench/load.ts); purchase and baseline batches are started from here and timed
 * by when the engine recorded them, never by when this process noticed.
 */
import { EVENT_LOOP_SAMPLE_MS } from '../src/api/metrics';
import { purchaseWorkflowId } from '../src/shared/ids';
import { PurchaseStatus } from '../src/shared/status';
import type { PaymentRefs } from '../dev/stripe-test-events';
import type { baselineWorkflow } from './baseline/workflows';
import { BASELINE_TASK_QUEUE, type BenchEngine } from './engine';
import { breakdownHistory, type HistoryBreakdown } from './history';
import { runLoad, vegetaPath, type LoadResult, type LoadSpec } from './load';
import { cpuDelta, cpuSnapshot, readProcStat, rssBytes } from './proc';
import { pool, spanRate, summarize, type Summary } from './stats';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A step is saturated when it fell short of its rate or answered anything but 2xx. */
const saturated = (r: LoadResult): boolean => r.achievedPerSecond < 0.9 * r.rate || r.non2xx > 0 || r.errors > 0;

export interface SweepStep extends LoadResult {
  saturated: boolean;
  /**
   * the API process's event-loop lag over the step, ms: prom-client's monitorEventLoopDelay reading
   * less its sampling period (EVENT_LOOP_SAMPLE_MS), so an idle loop reads about 0
   */
  eventLoopP99Ms: number;
  eventLoopMaxMs: number;
  /** the API process's garbage-collection pauses over the step, ms per second of the step (prom-client's nodejs_gc_duration_seconds, every kind) */
  apiGcMsPerSecond: number;
  /** CPU the API process spent per answered request over the step (/proc utime+stime): what the rate costs, whatever the machine's load */
  apiCpuMsPerRequest: number;
  /** of the status reads in the step, the share answered from the API's status cache (null: none read) */
  statusReadsFromMemory: number | null;
  /** CPU per answered request over the step, every process of the engine (ms): who pays for the rate */
  cpuMsPerRequest: Record<string, number>;
}

/**
 * The API's event-loop delay since its previous scrape (prom-client resets the histogram on each),
 * its garbage-collection pauses so far, and its status reads so far by source (the status cache's
 * counter).
 */
async function scrapeApi(
  apiUrl: string,
): Promise<{ p99Ms: number; maxMs: number; gcSeconds: number; readsFromMemory: number; readsFromDatabase: number }> {
  const text = await (await fetch(`${apiUrl}/metrics`)).text();
  const value = (name: string, labels = '(?:\\{[^}]*\\})?') => {
    const m = new RegExp(`^${name}${labels} ([0-9.eE+-]+)$`, 'm').exec(text);
    return m ? Number(m[1]) : NaN;
  };
  const reads = (source: string) => value('settlement_status_reads_total', `\\{source="${source}"\\}`) || 0;
  const gcSeconds = [...text.matchAll(/^nodejs_gc_duration_seconds_sum\{[^}]*\} ([0-9.eE+-]+)$/gm)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
  return {
    gcSeconds,
    p99Ms: Math.max(value('nodejs_eventloop_lag_p99_seconds') * 1000 - EVENT_LOOP_SAMPLE_MS, 0),
    maxMs: Math.max(value('nodejs_eventloop_lag_max_seconds') * 1000 - EVENT_LOOP_SAMPLE_MS, 0),
    readsFromMemory: reads('memory'),
    readsFromDatabase: reads('database'),
  };
}

/** How long each step of a sweep runs, and the unmeasured warm-up before its first. */
export interface SweepTiming {
  secondsAt: (rate: number) => number;
  /**
   * A step at the first rate, not measured, before the sweep: the API it loads has served none of
   * these requests yet, and its first hundred or so pay V8's compilation of the route and the pool's
   * new PostgreSQL connections (a 50–80 ms stall at the start of the step, seen here).
   */
  warmupSeconds: number;
}

async function sweep(
  engine: BenchEngine,
  apiUrl: string,
  apiPid: number | undefined,
  rates: readonly number[],
  timing: SweepTiming,
  stepSpec: (rate: number, seconds: number) => Omit<LoadSpec, 'vegeta'>,
  log: (line: string) => void,
  label: string,
): Promise<SweepStep[]> {
  const steps: SweepStep[] = [];
  const vegeta = vegetaPath(engine.config.VEGETA_PATH); // once, before the first step
  const [first] = rates;
  if (first !== undefined && timing.warmupSeconds > 0) {
    const warm = await runLoad({ ...stepSpec(first, timing.warmupSeconds), vegeta });
    log(`${label} warm-up ${first}/s for ${timing.warmupSeconds} s (not measured): p99 ${warm.latencyMs.p99.toFixed(1)} ms`);
  }
  for (const rate of rates) {
    const start = await scrapeApi(apiUrl); // resets the API's histogram: the next reading covers this step only
    const processes = engine.processes();
    const cpuBefore = cpuSnapshot(processes);
    const before = apiPid === undefined ? undefined : readProcStat(apiPid)?.cpuSeconds;
    const result = await runLoad({ ...stepSpec(rate, timing.secondsAt(rate)), vegeta });
    const after = apiPid === undefined ? undefined : readProcStat(apiPid)?.cpuSeconds;
    const cpuMsPerRequest = Object.fromEntries(
      Object.entries(perRun(cpuDelta(cpuBefore, cpuSnapshot(processes)), result.completed)).map(([name, sec]) => [name, sec * 1000]),
    );
    const end = await scrapeApi(apiUrl);
    const apiCpuMsPerRequest =
      before === undefined || after === undefined || result.completed === 0 ? NaN : ((after - before) * 1000) / result.completed;
    const fromMemory = end.readsFromMemory - start.readsFromMemory;
    const fromDatabase = end.readsFromDatabase - start.readsFromDatabase;
    const step = {
      ...result,
      saturated: saturated(result),
      eventLoopP99Ms: end.p99Ms,
      eventLoopMaxMs: end.maxMs,
      apiGcMsPerSecond: result.seconds > 0 ? ((end.gcSeconds - start.gcSeconds) * 1000) / result.seconds : NaN,
      apiCpuMsPerRequest,
      statusReadsFromMemory: fromMemory + fromDatabase > 0 ? fromMemory / (fromMemory + fromDatabase) : null,
      cpuMsPerRequest,
    };
    steps.push(step);
    log(
      `${label} ${rate}/s: achieved ${step.achievedPerSecond.toFixed(0)}/s, p50 ${step.latencyMs.p50} ms, p99 ${step.latencyMs.p99} ms, API CPU ${step.apiCpuMsPerRequest.toFixed(2)} ms/request, API GC ${step.apiGcMsPerSecond.toFixed(1)} ms/s${step.statusReadsFromMemory === null ? '' : `, ${(step.statusReadsFromMemory * 100).toFixed(0)}% from the status cache`}${step.saturated ? ' (saturated)' : ''}; CPU ms/request ${Object.entries(
        step.cpuMsPerRequest,
      )
        .filter(([, ms]) => ms >= 0.05)
        .sort((a, b) => b[1] - a[1])
        .map(([name, ms]) => `${name} ${ms.toFixed(2)}`)
        .join(', ')}`,
    );
    if (step.saturated) break;
  }
  return steps;
}

/** The checkouts a webhook sweep sends, one each: its warm-up's and every step's. */
export function webhookAckSweepSize(rates: readonly number[], timing: SweepTiming): number {
  const warmup = rates[0] === undefined ? 0 : Math.round(rates[0] * timing.warmupSeconds);
  return rates.reduce((n, rate) => n + Math.round(rate * timing.secondsAt(rate)), warmup);
}

/**
 * POST /webhooks/stripe, one distinct checkout each (webhookAckSweepSize of them), to the parked API
 * (its actor starts the runs on a task queue nobody polls).
 */
export async function webhookAckSweep(
  engine: BenchEngine,
  refs: PaymentRefs[],
  rates: readonly number[],
  timing: SweepTiming,
  log: (line: string) => void,
): Promise<SweepStep[]> {
  let next = 0;
  return sweep(
    engine,
    engine.parkedApiUrl,
    engine.stack.supervisor.pid('api-parked'),
    rates,
    timing,
    (rate, seconds) => {
      const n = Math.round(rate * seconds);
      const slice = refs.slice(next, next + n);
      next += n;
      if (slice.length < n) throw new Error(`webhook sweep: ${n} checkouts needed at ${rate}/s, ${slice.length} left`);
      // Signed just before the step, well inside the signature's tolerance.
      const bodies = slice.map((r) => {
        const d = engine.signedPayment(r);
        return { path: '/webhooks/stripe', body: d.body, headers: { 'content-type': 'application/json', 'stripe-signature': d.signature } };
      });
      return { url: engine.parkedApiUrl, method: 'POST', rate, seconds, bodies };
    },
    log,
    'webhook ack',
  );
}

/**
 * GET /api/purchases/:id over the parked API's purchases (nothing settles meanwhile), without ETags
 * (every answer a full 200).
 */
export async function statusReadSweep(
  engine: BenchEngine,
  purchaseIds: string[],
  rates: readonly number[],
  timing: SweepTiming,
  log: (line: string) => void,
): Promise<SweepStep[]> {
  const paths = purchaseIds.map((id) => `/api/purchases/${id}`);
  return sweep(
    engine,
    engine.parkedApiUrl,
    engine.stack.supervisor.pid('api-parked'),
    rates,
    timing,
    (rate, seconds) => ({ url: engine.parkedApiUrl, method: 'GET', rate, seconds, paths }),
    log,
    'status read',
  );
}

async function deliver(apiUrl: string, delivery: { body: string; signature: string }): Promise<number> {
  const res = await fetch(`${apiUrl}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': delivery.signature },
    body: delivery.body,
  });
  await res.arrayBuffer();
  return res.status;
}

/** Waits until each purchase reaches one of `statuses`; returns when the engine wrote it (updatedAt). */
async function waitForStatus(
  engine: BenchEngine,
  ids: string[],
  statuses: readonly string[],
  timeoutMs: number,
  pollMs: number,
): Promise<Map<string, { status: string; at: number }>> {
  const done = new Map<string, { status: string; at: number }>();
  const terminal = [...statuses, PurchaseStatus.Failed, PurchaseStatus.Refunded];
  const deadline = Date.now() + timeoutMs;
  while (done.size < ids.length && Date.now() < deadline) {
    const pending = ids.filter((id) => !done.has(id));
    for (let i = 0; i < pending.length; i += 500) {
      const rows = await engine.db.purchase.findMany({
        where: { id: { in: pending.slice(i, i + 500) }, status: { in: terminal } },
        select: { id: true, status: true, updatedAt: true },
      });
      for (const r of rows) done.set(r.id, { status: r.status, at: r.updatedAt.getTime() });
    }
    if (done.size < ids.length) await sleep(pollMs);
  }
  return done;
}

export interface SingleResult {
  /** webhook sent → purchase settled, ms, one purchase at a time */
  settleMs: Summary;
  /** the last purchase's history, step by step */
  breakdown: HistoryBreakdown | null;
  baselineMs: Summary;
  baselineBreakdown: HistoryBreakdown | null;
}

async function historyOf(engine: BenchEngine, workflowId: string): Promise<HistoryBreakdown | null> {
  const history = await engine.temporal.workflow.getHandle(workflowId).fetchHistory();
  return history.events ? breakdownHistory(history.events) : null;
}

/** Purchases paid one at a time, each waited for; then the baseline the same way. */
export async function single(
  engine: BenchEngine,
  refs: PaymentRefs[],
  baselineCount: number,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<SingleResult> {
  const times: number[] = [];
  let last: string | undefined;
  for (const r of refs) {
    const sentAt = Date.now();
    const status = await deliver(engine.apiUrl, engine.signedPayment(r));
    if (status !== 200) throw new Error(`single: webhook for ${r.purchaseId} answered ${status}`);
    const f = (await waitForStatus(engine, [r.purchaseId], [PurchaseStatus.Settled], timeoutMs, 10)).get(r.purchaseId);
    if (f?.status === PurchaseStatus.Settled) {
      times.push(f.at - sentAt);
      last = r.purchaseId;
    } else log(`single: ${r.purchaseId} ended ${f?.status ?? 'unfinished'}`);
  }
  const baselineTimes: number[] = [];
  let lastBaseline: string | undefined;
  for (let i = 0; i < baselineCount; i += 1) {
    const workflowId = `bench-baseline-single-${Date.now().toString(36)}-${i}`;
    const sentAt = Date.now();
    const handle = await engine.temporal.workflow.start<typeof baselineWorkflow>('baselineWorkflow', {
      taskQueue: BASELINE_TASK_QUEUE,
      workflowId,
      args: [{ id: workflowId }],
    });
    await handle.result();
    const closed = (await handle.describe()).closeTime?.getTime() ?? Date.now();
    baselineTimes.push(closed - sentAt);
    lastBaseline = workflowId;
  }
  return {
    settleMs: summarize(times),
    breakdown: last ? await historyOf(engine, purchaseWorkflowId(last)) : null,
    baselineMs: summarize(baselineTimes),
    baselineBreakdown: lastBaseline ? await historyOf(engine, lastBaseline) : null,
  };
}

export interface BatchResult {
  n: number;
  completed: number;
  perSecond: number;
  /** start → done, ms */
  latencyMs: Summary;
  /** CPU seconds per completed run, per process */
  cpuSecondsPerRun: Record<string, number>;
}

function perRun(delta: Record<string, number>, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, s] of Object.entries(delta)) out[name] = n > 0 ? s / n : NaN;
  return out;
}

/** N purchases paid at once (webhooks through the API); sustained rate from first send to last settled. */
export async function purchaseBatch(
  engine: BenchEngine,
  refs: PaymentRefs[],
  timeoutMs: number,
  log: (line: string) => void,
): Promise<BatchResult> {
  const deliveries = refs.map((r) => ({ id: r.purchaseId, d: engine.signedPayment(r) }));
  const processes = engine.processes();
  const before = cpuSnapshot(processes);
  const firstSent = Date.now();
  const sentAt = new Map<string, number>();
  await pool(deliveries, 50, async ({ id, d }) => {
    sentAt.set(id, Date.now());
    const status = await deliver(engine.apiUrl, d);
    if (status !== 200) log(`batch: webhook for ${id} answered ${status}`);
  });
  const final = await waitForStatus(
    engine,
    deliveries.map((d) => d.id),
    [PurchaseStatus.Settled],
    timeoutMs,
    100,
  );
  const after = cpuSnapshot(processes);
  const settled = [...final].filter(([, f]) => f.status === PurchaseStatus.Settled);
  if (settled.length < deliveries.length) log(`batch: ${settled.length}/${deliveries.length} settled`);
  return {
    n: deliveries.length,
    completed: settled.length,
    perSecond: spanRate(
      firstSent,
      settled.map(([, f]) => f.at),
    ),
    latencyMs: summarize(settled.map(([id, f]) => f.at - (sentAt.get(id) ?? firstSent))),
    cpuSecondsPerRun: perRun(cpuDelta(before, after), settled.length),
  };
}

/** N baseline workflows started at once on the same server; the same sustained rate. */
export async function baselineBatch(engine: BenchEngine, n: number): Promise<BatchResult> {
  const run = Date.now().toString(36);
  const processes = engine.processes();
  const before = cpuSnapshot(processes);
  const firstSent = Date.now();
  const handles = await pool(Array.from({ length: n }), 50, async (_, i) => {
    const workflowId = `bench-baseline-${run}-${i}`;
    const startedAt = Date.now();
    return {
      startedAt,
      handle: await engine.temporal.workflow.start<typeof baselineWorkflow>('baselineWorkflow', {
        taskQueue: BASELINE_TASK_QUEUE,
        workflowId,
        args: [{ id: workflowId }],
      }),
    };
  });
  await Promise.all(handles.map((h) => h.handle.result()));
  const after = cpuSnapshot(processes);
  const closed = await pool(handles, 20, async (h) => ({
    startedAt: h.startedAt,
    at: (await h.handle.describe()).closeTime?.getTime() ?? Date.now(),
  }));
  return {
    n,
    completed: closed.length,
    perSecond: spanRate(
      firstSent,
      closed.map((c) => c.at),
    ),
    latencyMs: summarize(closed.map((c) => c.at - c.startedAt)),
    cpuSecondsPerRun: perRun(cpuDelta(before, after), closed.length),
  };
}

export interface ParkedResult {
  parked: number;
  requested: number;
  workerRssIdleBytes: number;
  /** median of the first three samples, two seconds apart, once every purchase was waiting */
  workerRssJustParkedBytes: number;
  /** median of the last three, PARKED_SETTLE_SECONDS later: the steady state */
  workerRssBytes: number;
  /** every sample, two seconds apart */
  samplesBytes: number[];
  /** the worker's workflow cache size (maxCachedWorkflows) */
  maxCachedWorkflows: number;
  maxCachedWorkflowsSource: string;
  secondsToPark: number;
}

/**
 * How long the worker's RSS is sampled once every purchase waits. Right after a burst the RSS still
 * holds what the burst freed: V8 gives an isolate's spare heap back only when its memory reducer runs
 * (30 to 46 s after the last purchase parked in the runs so far), and the allocator its spare pages
 * on its own schedule. The steady state is read at the end.
 */
export const PARKED_SETTLE_SECONDS = 90;

/** Parks N purchases at the approval step and reads the worker's RSS once they all wait. */
export async function parkAndMeasure(
  engine: BenchEngine,
  refs: PaymentRefs[],
  timeoutMs: number,
  log: (line: string) => void,
): Promise<ParkedResult> {
  const pid = engine.stack.supervisor.pid('worker');
  if (pid === undefined) throw new Error('no worker process');
  const idle = rssBytes(pid) ?? NaN;
  const config = engine.config;
  const cache = {
    size: Math.max(config.WORKER_MAX_CACHED_WORKFLOWS, config.WORKER_WORKFLOW_TASK_SLOTS),
    source: 'WORKER_MAX_CACHED_WORKFLOWS',
  };
  const t0 = Date.now();
  await pool(refs, 20, async (r) => {
    const status = await deliver(engine.apiUrl, engine.signedPayment(r));
    if (status !== 200) log(`park: webhook for ${r.purchaseId} answered ${status}`);
  });
  const parked = await waitForStatus(
    engine,
    refs.map((r) => r.purchaseId),
    [PurchaseStatus.AwaitingApproval],
    timeoutMs,
    500,
  );
  const waiting = [...parked.values()].filter((p) => p.status === PurchaseStatus.AwaitingApproval).length;
  const secondsToPark = (Date.now() - t0) / 1000;
  log(`parked ${waiting}/${refs.length} purchases at the approval step (${secondsToPark.toFixed(0)} s)`);
  await sleep(3_000); // let the last workflow tasks and activities finish
  const samples: number[] = [];
  for (let i = 0; i <= PARKED_SETTLE_SECONDS / 2; i += 1) {
    if (i > 0) await sleep(2_000);
    samples.push(rssBytes(pid) ?? NaN);
  }
  const median3 = (three: number[]) => [...three].sort((a, b) => a - b)[1] ?? NaN;
  return {
    parked: waiting,
    requested: refs.length,
    workerRssIdleBytes: idle,
    workerRssJustParkedBytes: median3(samples.slice(0, 3)),
    workerRssBytes: median3(samples.slice(-3)),
    samplesBytes: samples,
    maxCachedWorkflows: cache.size,
    maxCachedWorkflowsSource: cache.source,
    secondsToPark,
  };
}
