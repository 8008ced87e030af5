/**
 * `npm run ops -- <command>`: the operator CLI over the same service layer as the admin API
 * (src/services/workflow-ops/). Every action is audited with actor `cli:<os user>`.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { connectTemporalClient, createDb } from '../runtime';
import { listAudit } from '../services/audit';
import { createWorkflowOps, WORKFLOW_STATES, type ResetTarget, type WorkflowRow, type WorkflowState } from '../services/workflow-ops';
import { isDomainError } from '../shared/errors';
import { purchaseIdFromWorkflowId, purchaseWorkflowId } from '../shared/ids';

const USAGE = `usage: npm run ops -- <command> [options]

  list <stuck|awaiting|failed> [--json]        purchase runs from Temporal visibility (+ describe)
  show <workflowId|purchaseId>                 one run: pending activities, last failure, purchase, UI link
  reset <workflowId|purchaseId> [--to last|first|<eventId>] [--run <runId>] [--reason <text>]
  batch-reset --query "<visibility query>" [--to last|first] [--reason <text>] [--yes]
                                               dry run (lists targets) unless --yes; shows progress
  retry <purchaseId> [--reason <text>]         signal the run to re-check now
  approve <purchaseId> [--reason <text>]
  reject <purchaseId> --reason <text>
  cancel <workflowId|purchaseId> [--reason <text>]     compensations run in the workflow
  terminate <workflowId|purchaseId> --reason <text>    no compensation; flagged in the audit
  treasury-replenished [--reason <text>]       signal every run in awaiting_treasury
  pause --reason <text>                        emergency pause: runs wait before the on-chain pivot
  resume [--reason <text>]                     lift it and signal every run waiting at the pivot
  settlement                                   whether settlement is paused, by whom and why
  trigger-schedule <scheduleId>                treasury-reconciliation | subscription-trial-check
  audit [--action <a|prefix*>] [--target <t>] [--limit <n>]
`;

const toWorkflowId = (idOrPurchase: string) =>
  idOrPurchase.includes('-') && !idOrPurchase.startsWith('pur_') ? idOrPurchase : purchaseWorkflowId(idOrPurchase);
const toPurchaseId = (id: string) => purchaseIdFromWorkflowId(id) ?? id;

function parseTo(v: string | undefined): ResetTarget {
  if (v === undefined || v === 'last' || v === 'first') return v ?? 'last';
  if (/^\d+$/.test(v)) return Number(v);
  throw new Error(`--to must be last, first or an event id, not ${v}`);
}

function printRows(rows: WorkflowRow[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  for (const r of rows) {
    const p = r.purchase;
    process.stdout.write(
      `${r.workflowId}  run=${r.runId}  ${r.executionStatus}/${r.purchaseStatus ?? '?'}  gross=${p?.grossCents ?? '?'}c  rail=${p?.rail ?? '?'}\n`,
    );
    for (const a of r.pendingActivities)
      process.stdout.write(`    pending ${a.activityType} attempt ${a.attempt}${a.lastFailure ? `: ${a.lastFailure}` : ''}\n`);
    for (const s of r.stuckReasons) process.stdout.write(`    stuck: ${s}\n`);
    if (r.lastFailure && r.pendingActivities.length === 0) process.stdout.write(`    last failure: ${r.lastFailure}\n`);
    process.stdout.write(`    ${r.temporalUiUrl}\n`);
  }
}

export async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      to: { type: 'string' },
      run: { type: 'string' },
      reason: { type: 'string' },
      query: { type: 'string' },
      yes: { type: 'boolean' },
      action: { type: 'string' },
      target: { type: 'string' },
      limit: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, arg] = positionals;
  if (!command || values.help) {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  const config = loadConfig();
  const client = await connectTemporalClient(config);
  const db = createDb(config.databaseUrl);
  const ops = createWorkflowOps({ client, db, config });
  const actor = `cli:${os.userInfo().username}`;
  const reason = values.reason;
  const need = (what: string) => {
    if (!arg) throw new Error(`${command} needs ${what}\n\n${USAGE}`);
    return arg;
  };
  const out = (v: unknown) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
  try {
    switch (command) {
      case 'list': {
        const state = need('a state (stuck, awaiting, failed)') as WorkflowState;
        if (!WORKFLOW_STATES.includes(state)) throw new Error(`state must be one of ${WORKFLOW_STATES.join(', ')}`);
        const rows = await ops.list(state);
        if (values.json) out(rows);
        else printRows(rows);
        break;
      }
      case 'show':
        out(await ops.show(toWorkflowId(need('a workflow or purchase id'))));
        break;
      case 'reset':
        out(await ops.reset(toWorkflowId(need('a workflow or purchase id')), { to: parseTo(values.to), runId: values.run, reason, actor }));
        break;
      case 'batch-reset': {
        if (!values.query) throw new Error('batch-reset needs --query "<visibility query>", e.g. --query "PurchaseStatus = \'settling\'"');
        const dryRun = !values.yes;
        const result = await ops.batchReset({
          query: values.query,
          dryRun,
          to: values.to === 'first' ? 'first' : 'last',
          reason,
          actor,
          onProgress: (done, total, wf) => process.stderr.write(`[${done}/${total}] ${wf}\n`),
        });
        process.stdout.write(`${dryRun ? 'DRY RUN: ' : ''}${result.targets.length} target(s) for: ${result.query}\n`);
        for (const t of result.targets) process.stdout.write(`  ${t.workflowId}  run=${t.runId}  ${t.purchaseStatus ?? '?'}\n`);
        if (dryRun) process.stdout.write('nothing changed; run again with --yes to reset these runs\n');
        else {
          for (const r of result.results)
            process.stdout.write(
              `  ${r.workflowId}: ${r.ok ? `reset → ${r.newRunId ?? '(unchanged)'}${r.alreadyApplied ? ' (already applied)' : ''}` : `FAILED ${r.error}`}\n`,
            );
          if (result.results.some((r) => !r.ok)) return 1;
        }
        break;
      }
      case 'retry':
        out(await ops.retry(toPurchaseId(need('a purchase id')), { actor, reason }));
        break;
      case 'approve':
        out(await ops.approve(toPurchaseId(need('a purchase id')), { actor, reason }));
        break;
      case 'reject':
        if (!reason) throw new Error('reject needs --reason');
        out(await ops.reject(toPurchaseId(need('a purchase id')), { actor, reason }));
        break;
      case 'cancel':
        out(await ops.cancel(toWorkflowId(need('a workflow or purchase id')), { actor, reason }));
        break;
      case 'terminate':
        out(await ops.terminate(toWorkflowId(need('a workflow or purchase id')), { actor, reason }));
        break;
      case 'treasury-replenished':
        out(await ops.treasuryReplenished({ actor, reason }));
        break;
      case 'pause':
        if (!reason) throw new Error('pause needs --reason');
        out(await ops.pauseSettlement({ actor, reason }));
        break;
      case 'resume':
        out(await ops.resumeSettlement({ actor, reason }));
        break;
      case 'settlement':
        out(await ops.settlementState());
        break;
      case 'trigger-schedule':
        out(await ops.triggerSchedule(need('a schedule id'), { actor, reason }));
        break;
      case 'audit':
        out(await listAudit(db, { action: values.action, target: values.target, limit: values.limit ? Number(values.limit) : 50 }));
        break;
      default:
        process.stderr.write(`unknown command ${command}\n\n${USAGE}`);
        return 2;
    }
    return 0;
  } catch (err) {
    process.stderr.write(`${isDomainError(err) ? `${err.type}: ` : ''}${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await db.$disconnect();
    await client.connection.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`ops failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
