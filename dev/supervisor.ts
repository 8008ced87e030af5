/**
 * A small process supervisor for the dev stack: starts children in their own process groups,
 * prefixes their output, restarts the ones marked `restart` when they crash, and stops everything
 * in reverse order with SIGTERM, then SIGKILL after a deadline.
 *
 * Restarts back off exponentially while a child keeps dying during its start-up (so a broken build
 * does not spin the CPU). A child that got past its start-up before it died is restarted at once,
 * whatever came before: repeated `kill -9`s of a working worker (the chaos run's) cost ~100 ms each,
 * not a growing delay. A child up for a healthy stretch also starts a new streak.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** restart on unexpected exit (worker, API) */
  restart?: boolean;
  /** resolves once the child is ready to serve */
  ready?: () => Promise<void>;
  /** how long SIGTERM may take before SIGKILL */
  stopTimeoutMs?: number;
  /** print the child's output (the Temporal server is chatty) */
  quiet?: boolean;
}

export interface Managed {
  spec: ChildSpec;
  child: ChildProcess;
  /** restarts since the supervisor started */
  restarts: number;
  /** consecutive deaths during start-up; drives the backoff */
  crashStreak: number;
  /** when the current process was spawned (ms since the epoch) */
  startedAt: number;
}

export interface RestartPolicy {
  /** delay before the first restart of a crash streak (default 100 ms) */
  initialDelayMs: number;
  /** the backoff doubles per crash up to this (default 10 s) */
  maxDelayMs: number;
  /** a child up this long counts as healthy: its next crash starts a new streak (default 60 s) */
  healthyAfterMs: number;
  /** a child that dies within this of its start is crash-looping and backs off (default 5 s) */
  startupMs: number;
}

export const DEFAULT_RESTART_POLICY: Readonly<RestartPolicy> = Object.freeze({
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  healthyAfterMs: 60_000,
  startupMs: 5_000,
});

/** The delay before restart number `crashStreak` (1-based) of a streak. */
export function restartDelayMs(policy: Readonly<RestartPolicy>, crashStreak: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(Math.max(crashStreak - 1, 0), 30));
}

export class Supervisor {
  private readonly children: Managed[] = [];
  private readonly policy: Readonly<RestartPolicy>;
  private stopping = false;

  /** Children run in their own process groups, so they outlive a parent that dies without stopAll. */
  private readonly killOrphans = () => {
    for (const { child } of this.children)
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) killGroup(child.pid, 'SIGKILL');
  };

  constructor(
    private readonly log: (line: string) => void,
    policy: Partial<RestartPolicy> = {},
  ) {
    this.policy = { ...DEFAULT_RESTART_POLICY, ...policy };
    process.once('exit', this.killOrphans);
  }

  async start(spec: ChildSpec): Promise<Managed> {
    const managed: Managed = { spec, child: this.spawn(spec), restarts: 0, crashStreak: 0, startedAt: Date.now() };
    this.children.push(managed);
    this.watch(managed);
    if (spec.ready) await spec.ready();
    return managed;
  }

  pid(name: string): number | undefined {
    return this.children.find((c) => c.spec.name === name)?.child.pid;
  }

  private spawn(spec: ChildSpec): ChildProcess {
    const child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      const rl = createInterface({ input: stream });
      rl.on('line', (line) => {
        if (!spec.quiet) this.log(`[${spec.name}] ${line}`);
      });
    }
    return child;
  }

  private watch(managed: Managed): void {
    managed.child.once('exit', (code, signal) => {
      if (this.stopping) return;
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (!managed.spec.restart) {
        this.log(`[supervisor] ${managed.spec.name} exited (${how}); not restarted`);
        return;
      }
      const upMs = Date.now() - managed.startedAt;
      // Only deaths during start-up, one after another, make a streak: a child that got past its
      // start-up (or stayed up a healthy stretch) starts a new one, so a start-up failure right after
      // a kill -9 (the database was restarting, say) waits the initial delay, not the streak's.
      const gotPastStartup = upMs >= this.policy.startupMs || upMs >= this.policy.healthyAfterMs;
      managed.restarts += 1;
      managed.crashStreak = gotPastStartup ? 0 : managed.crashStreak + 1;
      const delay = gotPastStartup ? this.policy.initialDelayMs : restartDelayMs(this.policy, managed.crashStreak);
      this.log(
        `[supervisor] ${managed.spec.name} exited (${how}) after ${upMs} ms; restarting in ${delay} ms (restart #${managed.restarts}, ${managed.crashStreak} start-up failures in a row)`,
      );
      setTimeout(() => {
        if (this.stopping) return;
        managed.child = this.spawn(managed.spec);
        managed.startedAt = Date.now();
        this.watch(managed);
      }, delay).unref();
    });
  }

  /**
   * Stop every child: first the applications (worker, API) so nothing new starts, then the
   * infrastructure they used, each group in parallel so the whole tree is down within seconds.
   */
  async stopAll(): Promise<void> {
    this.stopping = true;
    process.removeListener('exit', this.killOrphans);
    const timed = async (managed: Managed) => {
      const started = Date.now();
      await stopChild(managed);
      this.log(`[supervisor] ${managed.spec.name} stopped in ${Date.now() - started} ms`);
    };
    await Promise.all(this.children.filter((c) => c.spec.restart).map(timed));
    await Promise.all(this.children.filter((c) => !c.spec.restart).map(timed));
  }
}

async function stopChild({ spec, child }: Managed): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  killGroup(child.pid, 'SIGTERM');
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), spec.stopTimeoutMs ?? 5_000).unref());
  if ((await Promise.race([exited, timeout])) === 'timeout') {
    killGroup(child.pid, 'SIGKILL');
    await exited;
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
