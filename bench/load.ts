/**
 * The load generator: vegeta (github.com/tsenart/vegeta, installed by `npm run bench`'s set-up into
 * .tools/bin), its own process, so it shares no event loop with what it measures. `vegeta attack`
 * sends at a constant rate, evenly spaced, starting new workers whenever the ones it has are busy:
 * an open loop, so a slow answer delays no later request and its latency is the server's, not a
 * queue in the tool. `vegeta report -type=json` gives the latencies (ns) and status codes.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { resolveTool } from '../dev/tools';

const execFileAsync = promisify(execFile);

export interface LoadSpec {
  /** the vegeta binary (vegetaPath) */
  vegeta: string;
  /** base URL of the target */
  url: string;
  method: 'GET' | 'POST';
  /** requests per second, evenly spaced */
  rate: number;
  seconds: number;
  headers?: Record<string, string>;
  /** GET: paths taken in turn */
  paths?: string[];
  /** POST: one body each, sent once, in order (rate × seconds of them) */
  bodies?: { path: string; body: string; headers: Record<string, string> }[];
}

export interface LoadResult {
  rate: number;
  seconds: number;
  sent: number;
  completed: number;
  /** 2xx answers per second over the step (vegeta's throughput) */
  achievedPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
}

/** vegeta's JSON target: headers as lists, the body base64. */
interface VegetaTarget {
  method: string;
  url: string;
  header?: Record<string, string[]>;
  body?: string;
}

/** The fields of `vegeta report -type=json` read here (durations in ns). */
export interface VegetaReport {
  latencies: { mean: number; '50th': number; '90th': number; '99th': number; max: number };
  duration: number;
  wait: number;
  requests: number;
  throughput: number;
  status_codes: Record<string, number>;
  errors: string[] | null;
}

/** What one step measured, from vegeta's report. Status code 0 is vegeta's "no answer" (refused, reset, timed out). */
export function loadResultOf(rate: number, report: VegetaReport): LoadResult {
  const codes = report.status_codes ?? {};
  const count = (match: (code: string) => boolean) =>
    Object.entries(codes)
      .filter(([code]) => match(code))
      .reduce((n, [, c]) => n + c, 0);
  const ok = count((code) => code.startsWith('2'));
  const unanswered = count((code) => code === '0');
  const ms = (ns: number) => ns / 1e6;
  return {
    rate,
    seconds: (report.duration + report.wait) / 1e9,
    sent: report.requests,
    completed: report.requests - unanswered,
    achievedPerSecond: report.throughput,
    latencyMs: {
      p50: ms(report.latencies['50th']),
      p90: ms(report.latencies['90th']),
      p99: ms(report.latencies['99th']),
      max: ms(report.latencies.max),
      mean: ms(report.latencies.mean),
    },
    non2xx: report.requests - ok - unanswered,
    errors: unanswered,
    statusCodes: codes,
  };
}

function targetsOf(spec: LoadSpec): VegetaTarget[] {
  const base = spec.url.replace(/\/$/, '');
  const headerLists = (h: Record<string, string> = {}) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, [v]]));
  if (spec.bodies) {
    return spec.bodies.map((b) => ({
      method: spec.method,
      url: `${base}${b.path}`,
      header: headerLists({ ...spec.headers, ...b.headers }),
      body: Buffer.from(b.body).toString('base64'),
    }));
  }
  return (spec.paths ?? ['/']).map((p) => ({ method: spec.method, url: `${base}${p}`, header: headerLists(spec.headers) }));
}

/** VEGETA_PATH, else the one set-up installs, else PATH's. */
export function vegetaPath(override: string | undefined): string {
  const vegeta = resolveTool('vegeta', override);
  if (!vegeta) throw new Error('vegeta is not installed: `npm run bench` installs it into .tools/bin (or set VEGETA_PATH)');
  return vegeta;
}

/** One constant-rate step against the target; resolves with what vegeta measured. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const requests = Math.round(spec.rate * spec.seconds);
  if (spec.bodies && spec.bodies.length < requests) {
    throw new Error(`load: ${requests} bodies needed at ${spec.rate}/s for ${spec.seconds} s, ${spec.bodies.length} given`);
  }
  const { vegeta } = spec;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'settlement-bench-load-'));
  try {
    const targets = path.join(dir, 'targets.jsonl');
    const results = path.join(dir, 'results.bin');
    fs.writeFileSync(
      targets,
      `${targetsOf(spec)
        .map((t) => JSON.stringify(t))
        .join('\n')}\n`,
    );
    await execFileAsync(
      vegeta,
      [
        'attack',
        '-format=json',
        `-targets=${targets}`,
        `-rate=${spec.rate}/s`,
        `-duration=${spec.seconds}s`,
        '-timeout=30s',
        `-output=${results}`,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const { stdout } = await execFileAsync(vegeta, ['report', '-type=json', results], { maxBuffer: 16 * 1024 * 1024 });
    return loadResultOf(spec.rate, JSON.parse(stdout) as VegetaReport);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
