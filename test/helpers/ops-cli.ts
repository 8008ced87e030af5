/** The ops CLI run in-process against a test engine, its output captured. */
import type { Engine } from './engine';

export async function runOpsCli(engine: Engine, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const saved = { ...process.env };
  Object.assign(process.env, {
    DATABASE_URL: engine.config.databaseUrl,
    TEMPORAL_ADDRESS: engine.config.temporalAddress,
    TEMPORAL_TASK_QUEUE: engine.config.TEMPORAL_TASK_QUEUE,
    LOG_LEVEL: 'silent',
  });
  const out: string[] = [];
  const err: string[] = [];
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  try {
    const { main } = await import('../../src/ops/cli');
    return { code: await main(argv), stdout: out.join(''), stderr: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.env = saved;
  }
}
