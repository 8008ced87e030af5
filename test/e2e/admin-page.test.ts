/**
 * The /admin page in headless Chromium (Debian's `chromium`, driven by playwright-core): paste the
 * token, approve a purchase waiting for approval, and watch it settle. Skips, saying why, when
 * Chromium or playwright-core is not installed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { chromiumSuite, launchChromium } from '../helpers/chromium';
import { startEngine, type Engine } from '../helpers/engine';

const { suite, executablePath } = chromiumSuite('admin page');

suite('admin page in headless Chromium', () => {
  let engine: Engine;
  let context: BrowserContext | undefined;
  let profile: string;

  beforeAll(async () => {
    // The test product costs $25.00: a $20.00 threshold makes it wait for approval.
    engine = await startEngine({ env: { APPROVAL_THRESHOLD_CENTS: '2000' } });
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'admin-page-chromium-'));
    context = await launchChromium(executablePath, profile);
  });
  afterAll(async () => {
    await context?.close();
    await engine?.close();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  it('loads the page, approves a purchase waiting for approval, and sees it settle', async () => {
    const product = await engine.createProduct();
    const refs = await engine.checkout(product.id);
    expect((await engine.pay(refs)).status).toBe(200);
    await engine.waitForStatus(refs.purchaseId, ['awaiting_approval']);

    const page = await (context as BrowserContext).newPage();
    const cspViolations: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    await page.goto(`${engine.url}/admin`);
    expect(await page.title()).toBe('Settlement admin');
    await page.locator('#token').fill(engine.config.ADMIN_TOKEN);
    await page.locator('#save-token').click();

    const waiting = `#awaiting tr[data-workflow-id="purchase-${refs.purchaseId}"]`;
    await page.locator(waiting).waitFor({ timeout: 30_000 });
    expect(await page.locator(`${waiting} td.status`).textContent()).toBe('awaiting_approval');
    await page.locator(`${waiting} button[data-action="approve"]`).click();

    const status = page.locator(`#purchases tr[data-purchase-id="${refs.purchaseId}"] td.status`);
    const deadline = Date.now() + 60_000;
    let shown: string | null = null;
    while (Date.now() < deadline && shown !== 'settled') {
      shown = await status.textContent().catch(() => null);
      if (shown !== 'settled') await new Promise((r) => setTimeout(r, 250));
    }
    expect(shown).toBe('settled');
    expect((await engine.purchase(refs.purchaseId)).status).toBe('settled');
    const audit = await engine.db.auditLog.findFirstOrThrow({ where: { action: 'purchase.approve', target: refs.purchaseId } });
    expect(audit).toMatchObject({ actor: 'admin', result: 'ok' });

    // The charts draw from /admin/dashboard/charts.json under the page's CSP (uPlot served by the engine);
    // a planted weekly reconciliation with one discrepancy gives the history table a row to show.
    const weekMs = 7 * 86_400_000;
    await engine.db.treasuryReconciliation.create({
      data: {
        id: 'recon_page_test',
        periodStart: new Date(Date.now() - 2 * weekMs),
        periodEnd: new Date(Date.now() - weekMs),
        purchaseCount: 3,
        frontedMicroUsdc: 64_740_000n,
        platformFeesCents: 719n,
        stripeFeesCents: 309n,
        netToReplenishCents: 6474n,
        ledgerTreasuryMicroUsdc: 999_935_260_000n,
        chainTreasuryMicroUsdc: 999_935_260_000n,
        openHoldsMicroUsdc: 0n,
        runwayDays: 36_500,
        health: 'healthy',
        staleHolds: [],
        discrepancies: {
          create: [{ id: 'disc_page_test', kind: 'stripe_fee_mismatch', reference: 'ch_page_test', expected: '103', actual: '104' }],
        },
      },
    });
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${engine.url}/admin`);
    await page.locator('body[data-charts="ready"]').waitFor({ timeout: 30_000 });
    for (const id of ['chart-treasury', 'chart-outcomes', 'chart-runway']) await page.locator(`#${id} canvas`).waitFor({ timeout: 10_000 });
    const legend = await page.locator('#chart-outcomes .u-legend').textContent();
    expect(legend).toMatch(/settled/);
    expect(await page.evaluate(() => typeof (globalThis as { uPlot?: unknown }).uPlot)).toBe('function');
    expect(await page.locator('#reconciliations tr[data-reconciliation-id] td.health').textContent()).toMatch(/healthy|warning|critical/);
    expect(cspViolations).toEqual([]);
    // A screenshot each run; docs/admin-page.png only on request, so a test run leaves the tree clean.
    const shot = path.join(profile, 'admin-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(fs.statSync(shot).size).toBeGreaterThan(10_000);
    if (process.env.UPDATE_ADMIN_SCREENSHOT === '1') fs.copyFileSync(shot, path.join(__dirname, '../../docs/admin-page.png'));
  });
});
