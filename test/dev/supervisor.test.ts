/**
 * The dev supervisor's restart policy with real processes: a tiny script that records each start
 * and then lives for a planned time before exiting with an error.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_RESTART_POLICY, restartDelayMs, Supervisor, type ChildSpec, type RestartPolicy } from '../../dev/supervisor';

let dir: string;
let script: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'supervisor-test-'));
  script = path.join(dir, 'crasher.js');
  // argv: <starts file> <lifetime of run 0> <lifetime of run 1> … (the last one repeats)
  fs.writeFileSync(
    script,
    `const fs = require('node:fs');
const [starts, ...plan] = process.argv.slice(2);
const run = fs.existsSync(starts) ? fs.readFileSync(starts, 'utf8').split('\\n').filter(Boolean).length : 0;
fs.appendFileSync(starts, Date.now() + '\\n');
setTimeout(() => process.exit(3), Number(plan[Math.min(run, plan.length - 1)]));
`,
  );
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const startsOf = (file: string): number[] =>
  fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number) : [];

async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function crasher(name: string, lifetimesMs: number[]): { spec: ChildSpec; starts: string } {
  const starts = path.join(dir, `${name}.starts`);
  return { starts, spec: { name, command: process.execPath, args: [script, starts, ...lifetimesMs.map(String)], restart: true } };
}

/** The delays the supervisor announced, in order. */
function announcedDelays(lines: string[], name: string): number[] {
  return lines.flatMap((l) => {
    const m = new RegExp(`^\\[supervisor\\] ${name} exited .*restarting in (\\d+) ms`).exec(l);
    return m ? [Number(m[1])] : [];
  });
}

async function supervise(name: string, lifetimesMs: number[], policy: Partial<RestartPolicy> | undefined, runs: number) {
  const lines: string[] = [];
  const supervisor = new Supervisor((l) => lines.push(l), policy);
  const { spec, starts } = crasher(name, lifetimesMs);
  try {
    const managed = await supervisor.start(spec);
    await until(`${runs} starts`, () => startsOf(starts).length >= runs, 20_000);
    return { lines, managed, starts: startsOf(starts) };
  } finally {
    await supervisor.stopAll();
  }
}

it('computes an exponential delay capped at the maximum', () => {
  const policy = { ...DEFAULT_RESTART_POLICY, initialDelayMs: 100, maxDelayMs: 1_000 };
  expect([1, 2, 3, 4, 5, 6, 50].map((n) => restartDelayMs(policy, n))).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
});

it('backs off exponentially while a child keeps crashing', async () => {
  const { lines, starts } = await supervise(
    'loop',
    [0],
    { initialDelayMs: 40, maxDelayMs: 320, healthyAfterMs: 60_000, startupMs: 60_000 },
    6,
  );
  expect(announcedDelays(lines, 'loop').slice(0, 5)).toEqual([40, 80, 160, 320, 320]);
  // The real gaps between starts are at least the announced delays.
  const gaps = starts.slice(1, 6).map((t, i) => t - (starts[i] ?? t));
  gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual([40, 80, 160, 320, 320][i] ?? 0));
});

it('starts a new streak when the child had been healthy: the next crash restarts at the initial delay', async () => {
  // Runs 0-3 crash at once (40, 80, 160, 320 ms), run 4 stays up 700 ms (> healthyAfterMs), then crashes.
  const { lines, starts, managed } = await supervise(
    'streak',
    [0, 0, 0, 0, 700, 0],
    { initialDelayMs: 40, maxDelayMs: 5_000, healthyAfterMs: 500, startupMs: 60_000 },
    6,
  );
  const delays = announcedDelays(lines, 'streak');
  expect(delays.slice(0, 5)).toEqual([40, 80, 160, 320, 40]);
  // Without the reset the fifth restart would have waited 640 ms.
  expect(managed.restarts).toBeGreaterThanOrEqual(5);
  expect(starts.length).toBeGreaterThanOrEqual(6);
});

it('a child that got past its start-up restarts at the initial delay, however often it died before', async () => {
  // Runs 0-2 crash during start-up (40, 80, 160 ms); runs 3-5 each work 2.5 s (> startupMs) and die.
  const { lines } = await supervise(
    'working',
    [0, 0, 0, 2_500, 2_500, 2_500],
    { initialDelayMs: 40, maxDelayMs: 5_000, healthyAfterMs: 60_000, startupMs: 2_000 },
    6,
  );
  // Without the start-up rule the delays would go on doubling: 320, 640.
  expect(announcedDelays(lines, 'working').slice(0, 5)).toEqual([40, 80, 160, 40, 40]);
});

it('a start-up failure after many kills of a working child waits the initial delay, not a grown one', async () => {
  // Runs 0-3 each work 2.5 s (> startupMs) and die, as under repeated kill -9; run 4 fails during
  // start-up (its database was restarting), run 5 too; then it works again.
  const { lines } = await supervise(
    'killed-then-broken',
    [2_500, 2_500, 2_500, 2_500, 0, 0, 2_500],
    { initialDelayMs: 40, maxDelayMs: 5_000, healthyAfterMs: 60_000, startupMs: 2_000 },
    7,
  );
  // Counting the kills into the streak would have made the first start-up failure wait 640 ms.
  expect(announcedDelays(lines, 'killed-then-broken').slice(0, 6)).toEqual([40, 40, 40, 40, 40, 80]);
});

it('with the default policy, restarts a SIGKILLed child within a few hundred milliseconds', async () => {
  const lines: string[] = [];
  const supervisor = new Supervisor((l) => lines.push(l));
  const { spec, starts } = crasher('killed', [60_000]);
  try {
    const managed = await supervisor.start(spec);
    await until('first start', () => startsOf(starts).length === 1, 10_000);
    const killedAt = Date.now();
    process.kill(managed.child.pid ?? 0, 'SIGKILL');
    await until('restart', () => startsOf(starts).length === 2, 10_000);
    const upAgainMs = (startsOf(starts)[1] ?? 0) - killedAt;
    expect(announcedDelays(lines, 'killed')).toEqual([DEFAULT_RESTART_POLICY.initialDelayMs]);
    expect(DEFAULT_RESTART_POLICY.initialDelayMs).toBeLessThanOrEqual(200);
    // The delay plus a bare node start on a busy 2-core machine.
    expect(upAgainMs).toBeLessThan(1_500);
    process.stdout.write(`supervisor: SIGKILLed child running again after ${upAgainMs} ms\n`);
  } finally {
    await supervisor.stopAll();
  }
});
