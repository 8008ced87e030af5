/**
 * A small process supervisor for the dev stack: starts children in their own process groups,
 * prefixes their output, restarts the ones marked `restart` when they crash, and stops everything
 * in reverse order with SIGTERM, then SIGKILL after a deadline.
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
  restarts: number;
}

export class Supervisor {
  private readonly children: Managed[] = [];
  private stopping = false;

  constructor(private readonly log: (line: string) => void) {}

  async start(spec: ChildSpec): Promise<Managed> {
    const managed: Managed = { spec, child: this.spawn(spec), restarts: 0 };
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
      managed.restarts += 1;
      const delay = Math.min(10_000, 500 * 2 ** Math.min(managed.restarts - 1, 5));
      this.log(`[supervisor] ${managed.spec.name} exited (${how}); restarting in ${delay} ms (restart #${managed.restarts})`);
      setTimeout(() => {
        if (this.stopping) return;
        managed.child = this.spawn(managed.spec);
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
