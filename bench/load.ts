/**
 * The load generator, run as its own process so it does not share an event loop with what it
 * measures: autocannon at a fixed overall rate (open loop; autocannon corrects the latencies for
 * coordinated omission when a rate is set). Reads a LoadSpec from the JSON file named on the
 * command line, prints one LoadResult as JSON on stdout.
 *   node --import tsx bench/load.ts spec.json
 */
import fs from 'node:fs';
import autocannon from 'autocannon';

export interface LoadSpec {
  /** base URL of the target */
  url: string;
  method: 'GET' | 'POST';
  /** requests per second, across all connections */
  rate: number;
  seconds: number;
  connections: number;
  headers?: Record<string, string>;
  /** GET: paths taken in turn */
  paths?: string[];
  /** POST: one body each, sent once, in order (their count bounds the run) */
  bodies?: { path: string; body: string; headers: Record<string, string> }[];
}

export interface LoadResult {
  rate: number;
  seconds: number;
  sent: number;
  completed: number;
  achievedPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
}

async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  let next = 0;
  const bodies = spec.bodies;
  const paths = spec.paths ?? ['/'];
  const amount = bodies ? Math.min(bodies.length, Math.round(spec.rate * spec.seconds)) : Math.round(spec.rate * spec.seconds);
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    overallRate: spec.rate,
    amount,
    timeout: 30,
    headers: spec.headers,
    requests: [
      {
        method: spec.method,
        setupRequest: (req) => {
          const i = next;
          next += 1;
          if (bodies) {
            const b = bodies[i % bodies.length];
            return { ...req, path: b?.path ?? '/', body: b?.body, headers: { ...req.headers, ...b?.headers } };
          }
          return { ...req, path: paths[i % paths.length] ?? '/' };
        },
      },
    ],
  });
  const statusCodes: Record<string, number> = {};
  for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = s.count ?? 0;
  const completed = Object.values(statusCodes).reduce((a, b) => a + b, 0);
  return {
    rate: spec.rate,
    seconds: result.duration,
    sent: result.requests.sent,
    completed,
    achievedPerSecond: result.duration > 0 ? completed / result.duration : NaN,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.mean,
    },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
  };
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: load.ts <spec.json>');
  const spec = JSON.parse(fs.readFileSync(file, 'utf8')) as LoadSpec;
  runLoad(spec).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err: unknown) => {
      process.stderr.write(`load failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
