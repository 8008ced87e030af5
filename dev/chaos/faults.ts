/**
 * Every fault at once, on a schedule: SIGKILL of the worker and of the API (the supervisor restarts
 * them), PostgreSQL restarts, SIGKILL of the Temporal server (restarted on the same database file),
 * the Solana faults of the JSON-RPC fault proxy in front of Surfpool (dev/surfpool/rpc-faults.ts: lost
 * transactions and confirmations, expired blockhashes, lagging status), and the error/hold rates of the proxies in front of Stripe and the chains.
 */
import type { EmbeddedPostgresHandle } from '../postgres';
import type { Supervisor } from '../supervisor';
import type { FaultProxy } from './fault-proxy';
import type { Random } from './random';

export interface FaultPlan {
  workerKillEveryMs: number;
  apiKillEveryMs: number;
  temporalKillEveryMs: number;
  postgresRestartEveryMs: number;
  /** how often the Solana fault proxy is told to lose, lag or expire something */
  chainFaultEveryMs: number;
  /** share of chain RPC requests answered 503 or held */
  chainFaultRate: number;
  /** share of Stripe API requests answered 500 */
  stripeFaultRate: number;
  /** of the faulted requests, the share held until the client times out */
  holdShare: number;
}

export const DEFAULT_FAULTS: FaultPlan = {
  workerKillEveryMs: 10_000,
  apiKillEveryMs: 25_000,
  temporalKillEveryMs: 90_000,
  postgresRestartEveryMs: 75_000,
  chainFaultEveryMs: 5_000,
  chainFaultRate: 0.2,
  stripeFaultRate: 0.2,
  holdShare: 0.05,
};

export interface FaultCounters {
  workerKills: number;
  apiKills: number;
  temporalKills: number;
  postgresRestarts: number;
  chainFaults: Record<string, number>;
}

export interface FaultTargets {
  supervisor: Supervisor;
  pg: EmbeddedPostgresHandle | undefined;
  /** the Solana RPC the stack serves: the fault proxy in front of Surfpool, which answers dev_injectFault */
  solanaRpcUrl: string;
  proxies: { stripe: FaultProxy; solana: FaultProxy; evm: FaultProxy };
  log: (line: string) => void;
}

const CHAIN_FAULTS = [
  { kind: 'loseNextTransaction', count: 1 },
  { kind: 'failRequestsAfterNextSend', n: 3 },
  { kind: 'expireBlockhash' },
  { kind: 'delayConfirmation', ms: 3_000 },
] as const;

export class FaultSchedule {
  readonly counters: FaultCounters = { workerKills: 0, apiKills: 0, temporalKills: 0, postgresRestarts: 0, chainFaults: {} };
  private readonly timers: NodeJS.Timeout[] = [];
  private running = false;
  private pgBusy: Promise<void> | undefined;

  constructor(
    private readonly plan: FaultPlan,
    private readonly targets: FaultTargets,
    private readonly random: Random,
  ) {}

  start(): void {
    this.running = true;
    const { proxies } = this.targets;
    proxies.stripe.setFaultRate(this.plan.stripeFaultRate, this.plan.holdShare);
    proxies.solana.setFaultRate(this.plan.chainFaultRate, this.plan.holdShare);
    proxies.evm.setFaultRate(this.plan.chainFaultRate, this.plan.holdShare);
    this.every(this.plan.workerKillEveryMs, () => this.kill('worker', 'workerKills'));
    this.every(this.plan.apiKillEveryMs, () => this.kill('api', 'apiKills'));
    this.every(this.plan.temporalKillEveryMs, () => this.kill('temporal', 'temporalKills'));
    this.every(this.plan.postgresRestartEveryMs, () => this.restartPostgres());
    this.every(this.plan.chainFaultEveryMs, () => this.chainFault());
  }

  /** Stop injecting; wait for a PostgreSQL restart in progress to finish. */
  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers) clearTimeout(t);
    const { proxies } = this.targets;
    for (const proxy of [proxies.stripe, proxies.solana, proxies.evm]) proxy.setFaultRate(0);
    await this.pgBusy;
  }

  /** Run `action` every `everyMs` (±25% jitter) while running; 0 turns it off. */
  private every(everyMs: number, action: () => void | Promise<void>): void {
    if (everyMs <= 0) return;
    const arm = () => {
      const t = setTimeout(
        () => {
          if (!this.running) return;
          void Promise.resolve(action()).catch((err: unknown) => this.targets.log(`[chaos] fault failed: ${String(err)}`));
          arm();
        },
        this.random.int(Math.round(everyMs * 0.75), Math.round(everyMs * 1.25)),
      );
      this.timers.push(t);
    };
    arm();
  }

  private kill(name: 'worker' | 'api' | 'temporal', counter: 'workerKills' | 'apiKills' | 'temporalKills'): void {
    const pid = this.targets.supervisor.pid(name);
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
      this.counters[counter] += 1;
      this.targets.log(`[chaos] SIGKILL ${name} (pid ${pid})`);
    } catch {
      // between a crash and its restart: nothing to kill
    }
  }

  private async restartPostgres(): Promise<void> {
    const pg = this.targets.pg;
    if (!pg || this.pgBusy) return;
    this.targets.log('[chaos] restarting PostgreSQL');
    this.pgBusy = pg.restart().finally(() => {
      this.pgBusy = undefined;
    });
    await this.pgBusy;
    this.counters.postgresRestarts += 1;
  }

  private async chainFault(): Promise<void> {
    const fault = this.random.pick(CHAIN_FAULTS);
    const res = await fetch(this.targets.solanaRpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'dev_injectFault', params: [fault] }),
      signal: AbortSignal.timeout(5_000),
    });
    if (!res.ok) throw new Error(`dev_injectFault answered ${res.status}`);
    this.counters.chainFaults[fault.kind] = (this.counters.chainFaults[fault.kind] ?? 0) + 1;
  }
}
