/**
 * The emergency pause, for the admin API and the ops CLI: the switch is a database row
 * (src/db/settlement-pause.ts) that every purchase run reads at its gate before the on-chain pivot.
 * Resume signals the runs waiting there, found both in PostgreSQL (where the gate marks them
 * `paused`, strongly consistent) and through visibility (PurchaseStatus = 'paused'), oldest first;
 * a run whose signal is lost still re-reads the switch on its SETTLEMENT_PAUSE_RECHECK_INTERVAL timer.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { listPausedPurchaseIds, setSettlementPaused, settlementPauseState, type SettlementPauseState } from '../../db/settlement-pause';
import { DomainError, ErrorType } from '../../shared/errors';
import { purchaseIdFromWorkflowId, purchaseWorkflowId } from '../../shared/ids';
import { PurchaseStatus } from '../../shared/status';
import { settlementResumedSignal } from '../../workflows/definitions';
import { audited } from '../audit';
import { RUNNING_PURCHASE_RUNS, withPurchaseStatus } from './query';
import type { WorkflowOpsDeps } from './types';
import type { Visibility } from './visibility';

/** The most waiting runs one resume signals; any beyond it go on at their next re-check. */
const MAX_SIGNALLED = 5_000;

const wire = (s: SettlementPauseState) => ({
  paused: s.paused,
  reason: s.reason,
  actor: s.actor,
  changedAt: s.changedAt?.toISOString() ?? null,
});

export function createSettlementPause({ client, db }: WorkflowOpsDeps, visibility: Visibility) {
  /** Purchases waiting at the gate: the database's list first (in the order they were parked), then any only visibility knows. */
  async function waitingPurchases(): Promise<string[]> {
    const fromDb = await listPausedPurchaseIds(db, MAX_SIGNALLED);
    const runs = await visibility.collect(`${RUNNING_PURCHASE_RUNS} AND ${withPurchaseStatus([PurchaseStatus.Paused])}`, MAX_SIGNALLED);
    const fromVisibility = runs
      .sort((a, b) => a.startTime.getTime() - b.startTime.getTime())
      .flatMap((r) => purchaseIdFromWorkflowId(r.workflowId) ?? []);
    return [...new Set([...fromDb, ...fromVisibility])].slice(0, MAX_SIGNALLED);
  }

  async function signalWaiting(): Promise<string[]> {
    const signalled: string[] = [];
    // One at a time, so the runs are released in the order they were parked.
    for (const purchaseId of await waitingPurchases()) {
      try {
        await client.workflow.getHandle(purchaseWorkflowId(purchaseId)).signal(settlementResumedSignal);
        signalled.push(purchaseId);
      } catch (err) {
        // The run ended meanwhile (a refund aborted it, say): nothing to release.
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
    }
    return signalled;
  }

  return {
    async settlementState() {
      const [state, paused] = await Promise.all([settlementPauseState(db), listPausedPurchaseIds(db, MAX_SIGNALLED)]);
      return { ...wire(state), pausedPurchases: paused.length };
    },

    /** Stop purchase runs before the pivot. A send already under way finishes (`settling` lists them). */
    pauseSettlement: (opts: { actor: string; reason?: string }) =>
      audited(db, { actor: opts.actor, action: 'settlement.pause', target: 'settlement', reason: opts.reason, flagged: true }, async () => {
        const reason = opts.reason?.trim();
        if (!reason) throw new DomainError(ErrorType.ValidationFailed, 'pausing settlement requires a reason');
        const change = await setSettlementPaused(db, { paused: true, actor: opts.actor, reason });
        return { ...wire(change.state), alreadyApplied: !change.changed, settling: change.settling };
      }),

    /** Lift the pause and signal every run waiting at the gate. Repeating it only signals again. */
    resumeSettlement: (opts: { actor: string; reason?: string }) =>
      audited(db, { actor: opts.actor, action: 'settlement.resume', target: 'settlement', reason: opts.reason }, async () => {
        const change = await setSettlementPaused(db, { paused: false, actor: opts.actor, reason: opts.reason?.trim() || null });
        const signalled = await signalWaiting();
        return { ...wire(change.state), alreadyApplied: !change.changed, signalled };
      }),
  };
}
