/** The chaos run's summary table and JSON report. */
import fs from 'node:fs';
import path from 'node:path';
import type { ChaosReport } from './run';

export function writeReport(file: string, report: ChaosReport): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

const sum = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0);

/** A Markdown table, so the README can quote it as printed. */
export function formatReport(r: ChaosReport): string {
  const p = r.purchases;
  const f = r.faults;
  const injected = (name: string) => {
    const c = f.proxies[name];
    return c ? `${c.errors} errors + ${c.held} held of ${c.requests} requests` : '-';
  };
  const rows: [string, string][] = [
    ['result', r.ok ? 'PASS' : 'FAIL'],
    ['seed', String(r.seed)],
    ['purchases', `${p.planned} planned, ${p.checkedOut} checked out`],
    [
      'final states',
      Object.entries(p.byStatus)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ],
    ['as expected', `${p.asExpected} of ${p.planned}`],
    ['lost', String(p.lost)],
    ['wallets paid twice / missed', `${r.paidTwice} / ${r.missedPayouts}`],
    [
      'audit',
      `${
        r.audit.ok
          ? 'clean'
          : `${r.audit.findings.length} findings (${Object.entries(r.audit.findingsByCode)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')})`
      }${r.audit.counts ? `: ${r.audit.counts.purchasesChecked} purchases, ${r.audit.counts.settlementsVerified} settlements verified on chain, ${r.audit.counts.walletsChecked} wallets` : ''}`,
    ],
    ['settled while faulting / after', `${p.settledWhileFaulting} / ${p.settledAfterFaults}`],
    ['faults ran', `${r.durations.faultSeconds} s`],
    ['drained after faults stopped', r.durations.drainSeconds === null ? 'not within the deadline' : `${r.durations.drainSeconds} s`],
    ['throughput', `${p.perSecond} purchases/s`],
    ['paid → settled', `p50 ${p.settleLatencyMs.p50 ?? '-'} ms, p99 ${p.settleLatencyMs.p99 ?? '-'} ms`],
    ['SIGKILLs', `worker ${f.workerKills}, api ${f.apiKills}, temporal ${f.temporalKills}`],
    ['PostgreSQL restarts', String(f.postgresRestarts)],
    ['Stripe faults', injected('stripe')],
    [
      'Solana RPC faults',
      `${injected('solana')}; chain-side ${sum(f.chainFaults)} (${Object.entries(f.chainFaults)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`,
    ],
    ['EVM RPC faults', injected('evm')],
    [
      'webhook deliveries',
      `${r.deliveries.attempts} attempts for ${r.deliveries.events} events: ${r.deliveries.duplicates} duplicates, ${r.deliveries.redeliveries} redeliveries, ${r.deliveries.abandoned} abandoned`,
    ],
    [
      'webhook outcomes',
      Object.entries(r.deliveries.outcomes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ],
    ['API retries (checkout, admin)', String(r.apiRetries)],
    [
      'treasury',
      `funded ${r.treasury.initialFundingMicroUsdc} micro-USDC per rail; replenished ${
        Object.entries(r.treasury.replenished)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'never'
      }`,
    ],
    ['total time', `${r.durations.totalSeconds} s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = ['| measure | value |', '|---|---|', ...rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v} |`)];
  if (r.lost.length > 0) {
    lines.push('', 'Not as expected:');
    for (const l of r.lost)
      lines.push(
        `- ${l.purchaseId ?? '(no purchase)'} ${l.product}: expected ${l.expected}, got ${l.status ?? '-'}${l.failureType ? ` (${l.failureType})` : ''}${l.driverError ? `; ${l.driverError}` : ''}`,
      );
  }
  if (!r.audit.ok) {
    lines.push('', 'Audit findings:');
    for (const f of r.audit.findings) lines.push(`- ${f.code}: ${f.message}`);
  }
  if (r.balanceFindings.length > 0) {
    lines.push('', 'Balances that differ from the payout rows:');
    for (const b of r.balanceFindings)
      lines.push(`- ${b.rail} ${b.wallet}: on chain ${b.onChainMicroUsdc}, payout rows ${b.payoutRowsMicroUsdc}`);
  }
  return lines.join('\n');
}
