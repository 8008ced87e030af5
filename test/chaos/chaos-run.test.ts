/**
 * CI's short chaos run: `npm run chaos` as a user runs it, in its own process over its own stack,
 * about 100 purchases with the faults at twice their rate, then the audit. The run itself decides
 * pass or fail (exit 0 only with nothing lost, nobody paid twice or missed, and a clean audit); this
 * test also reads its JSON report, so a failure says what went wrong.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChaosReport } from '../../dev/chaos/run';

const root = path.resolve(__dirname, '..', '..');

it(
  '100 purchases under every fault at twice the rate: none lost, nobody paid twice, the audit is clean',
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chaos-ci-'));
    // As root, embedded PostgreSQL runs as `postgres`, which must reach its data under this folder.
    fs.chmodSync(dir, 0o755);
    const reportFile = path.join(dir, 'report.json');
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(root, 'dev/chaos/main.ts'),
        '--purchases',
        '100',
        '--rate',
        '2',
        '--fault-scale',
        '2',
        '--seed',
        '20261201',
        '--drain-timeout',
        '120',
        '--data-dir',
        path.join(dir, 'data'),
        '--report',
        reportFile,
      ],
      { cwd: root, encoding: 'utf8', timeout: 12 * 60_000 },
    );
    const out = `${run.stdout}\n${run.stderr}`;
    expect(fs.existsSync(reportFile) ? '' : out).toBe('');
    const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as ChaosReport;
    process.stdout.write(
      `${out
        .split('\n')
        .filter((l) => l.startsWith('|') || l.startsWith('-'))
        .join('\n')}\n`,
    );
    expect(report.lost).toEqual([]);
    expect(report.paidTwice).toBe(0);
    expect(report.missedPayouts).toBe(0);
    expect(report.audit.findings).toEqual([]);
    expect(report.faults.workerKills).toBeGreaterThan(0);
    expect(report.deliveries.redeliveries + report.deliveries.duplicates).toBeGreaterThan(0);
    expect(report.ok).toBe(true);
    expect(run.status).toBe(0);
    fs.rmSync(dir, { recursive: true, force: true });
  },
  13 * 60_000,
);
