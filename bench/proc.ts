/**
 * Per-process CPU and memory from /proc (Linux): what each supervised child of the stack spent,
 * read before and after a measurement. Elsewhere the readings are absent, never made up.
 */
import fs from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux the bench runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcStat {
  pid: number;
  ppid: number;
  /** user + system CPU seconds of the process itself */
  cpuSeconds: number;
}

/** Parses one /proc/<pid>/stat line; the command name may hold spaces and parentheses. */
export function parseProcStat(line: string): ProcStat | undefined {
  const close = line.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = Number(line.slice(0, line.indexOf(' ')));
  // After ") ": state(3) ppid(4) … utime(14) stime(15), numbered from 1 with pid as field 1.
  const rest = line.slice(close + 2).split(' ');
  const field = (n: number) => Number(rest[n - 3]);
  const ppid = field(4);
  const ticks = field(14) + field(15);
  if (!Number.isFinite(pid) || !Number.isFinite(ppid) || !Number.isFinite(ticks)) return undefined;
  return { pid, ppid, cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND };
}

export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Every live process's stat, for finding a parent's children (PostgreSQL's backends). */
function allProcStats(): ProcStat[] {
  let names: string[];
  try {
    names = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return [];
  }
  return names.map((n) => readProcStat(Number(n))).filter((s): s is ProcStat => s !== undefined);
}

/** CPU seconds of a process plus its live children (one level: PostgreSQL forks a backend per connection). */
function treeCpuSeconds(pid: number, withChildren: boolean): number | undefined {
  const own = readProcStat(pid);
  if (!own) return undefined;
  if (!withChildren) return own.cpuSeconds;
  return (
    own.cpuSeconds +
    allProcStats()
      .filter((s) => s.ppid === pid)
      .reduce((sum, s) => sum + s.cpuSeconds, 0)
  );
}

/** Resident set size in bytes (VmRSS), or undefined when the process is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The postmaster's pid from PostgreSQL's data directory (first line of postmaster.pid). */
export function postmasterPid(pgDataDir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(`${pgDataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export type CpuSnapshot = Map<string, number>;

/** CPU seconds per named process now. */
export function cpuSnapshot(pids: ReadonlyMap<string, { pid: number; withChildren: boolean }>): CpuSnapshot {
  const out: CpuSnapshot = new Map();
  for (const [name, p] of pids) {
    const s = treeCpuSeconds(p.pid, p.withChildren);
    if (s !== undefined) out.set(name, s);
  }
  return out;
}

/** Seconds each process spent between two snapshots (children that exited meanwhile are not counted). */
export function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, a] of after) {
    const b = before.get(name);
    if (b !== undefined) out[name] = Math.max(0, a - b);
  }
  return out;
}
