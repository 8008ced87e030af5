/**
 * Determinism guard: recorded histories of real purchase runs replay against the current workflow
 * code. A change that would break running workflows fails here. Re-record after an intentional,
 * versioned change with `RECORD_HISTORIES=1 npx jest test/workflows/replay --runInBand`, after
 * renaming the current ones after the patch that replaces their shape (`*-before-merged-steps.json`),
 * so runs of every shape still in flight keep being replayed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { resolveTool } from '../../dev/tools';
import { chargeRefunded } from '../../dev/stripe-test-events';
import { purchaseWorkflowId } from '../../src/shared/ids';
import { startEngine } from '../helpers/engine';

const dir = path.resolve(__dirname, '../fixtures/histories');

async function record(): Promise<void> {
  const engine = await startEngine({ env: { APPROVAL_THRESHOLD_CENTS: '2000' } });
  try {
    const product = await engine.createProduct();
    const save = async (name: string, purchaseId: string) => {
      // The CLI writes the canonical proto-JSON history (what the Temporal UI downloads, too).
      const json = execFileSync(
        resolveTool('temporal', undefined) ?? 'temporal',
        ['workflow', 'show', '--address', engine.temporal.address, '-w', purchaseWorkflowId(purchaseId), '--output', 'json'],
        { encoding: 'utf8' },
      );
      fs.writeFileSync(path.join(dir, `${name}.json`), json);
    };
    // approved → settled
    const a = await engine.checkout(product.id);
    await engine.pay(a);
    await engine.waitForStatus(a.purchaseId, ['awaiting_approval']);
    await engine.http('POST', `/admin/purchases/${a.purchaseId}/approve`, {}, engine.adminHeaders);
    await engine.waitForStatus(a.purchaseId, ['settled']);
    // rejected → compensated
    const r = await engine.checkout(product.id);
    await engine.pay(r);
    await engine.waitForStatus(r.purchaseId, ['awaiting_approval']);
    await engine.http('POST', `/admin/purchases/${r.purchaseId}/reject`, { reason: 'replay fixture' }, engine.adminHeaders);
    await engine.waitForStatus(r.purchaseId, ['failed']);
    // refund before payment
    const f = await engine.checkout(product.id);
    await engine.deliver(chargeRefunded(f));
    await engine.waitForStatus(f.purchaseId, ['refunded']);
    await new Promise((res) => setTimeout(res, 500));
    await save('purchase-approved-settled', a.purchaseId);
    await save('purchase-rejected', r.purchaseId);
    await save('purchase-refunded-before-payment', f.purchaseId);
  } finally {
    await engine.close();
  }
}

it('recorded purchase histories replay against the current workflow code', async () => {
  if (process.env.RECORD_HISTORIES === '1') await record();
  expect(fs.readdirSync(dir).filter((f) => f.endsWith('.json')).length).toBeGreaterThanOrEqual(3);
  // The same command ops run by hand (`npm run replay`), in its own process.
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.resolve(__dirname, '../../scripts/replay-histories.ts'), dir], {
    encoding: 'utf8',
  });
  expect(out).toMatch(/replayed \d+ histories, 0 failed/);
});
