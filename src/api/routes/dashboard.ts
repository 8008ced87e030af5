/**
 * The /admin page. The HTML shell is served without the token (it holds no data): the browser
 * asks for the token, keeps it in sessionStorage, and its script calls the admin API, starting with
 * the authenticated GET /admin/dashboard.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Router } from 'express';
import { z } from 'zod';
import type { Config } from '../../config';
import type { Db } from '../../db/client';
import { hourlyOutcomes, reconciliationHistory, treasurySeries } from '../../db/dashboard-history';
import { listRecentPurchases } from '../../db/purchases';
import { getTreasuryOverview, TREASURY_RAILS, type TreasuryOverviewDeps } from '../../services/treasury';
import type { WorkflowOps } from '../../services/workflow-ops';
import { purchaseWorkflowId } from '../../shared/ids';

const HEALTHS = ['healthy', 'warning', 'critical'] as const;
/** Rows store health as text; anything unexpected shows as critical rather than failing the page. */
const treasuryHealthOf = (h: string): (typeof HEALTHS)[number] => HEALTHS.find((x) => x === h) ?? 'critical';

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

let script: string | undefined;
const adminScript = () => (script ??= fs.readFileSync(path.join(__dirname, '../static/admin.js'), 'utf8'));
/** uPlot, the charting library, served from the engine itself: the page loads nothing from elsewhere. */
const uplotFiles = { js: require.resolve('uplot/dist/uPlot.iife.min.js'), css: require.resolve('uplot/dist/uPlot.min.css') };
const uplotCache: Partial<Record<keyof typeof uplotFiles, string>> = {};
const uplot = (kind: keyof typeof uplotFiles) => (uplotCache[kind] ??= fs.readFileSync(uplotFiles[kind], 'utf8'));

/** The page's one inline style sheet; the CSP allows exactly this text by its hash (src/api/abuse-limits.ts). */
export const ADMIN_PAGE_STYLE = `
 body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222} h1{font-size:1.3rem} h2{font-size:1.05rem;margin-top:1.5rem}
 table{border-collapse:collapse;width:100%} th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
 .stat{display:inline-block;margin-right:1.5rem} .stat span{display:block;color:#666;font-size:.8rem}
 .charts{display:flex;flex-wrap:wrap;gap:1rem} figure{margin:0} figcaption{color:#666;font-size:.8rem}
 .error{color:#b00020} .ok{color:#1b5e20} .empty{color:#888} button{margin-right:.25rem} #updated{color:#888;font-size:.8rem}
`;

function renderAdminPage(temporalUiUrl: string): string {
  const ui = escapeHtml(temporalUiUrl);
  const table = (id: string, title: string, headings: string[]) => `
  <section><h2>${title}</h2><table><thead><tr>${headings.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody id="${id}"></tbody></table></section>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Settlement admin</title>
<style>${ADMIN_PAGE_STYLE}</style><link rel="stylesheet" href="/admin/static/uplot.css"></head>
<body data-temporal-ui="${ui}">
<h1>Settlement admin</h1>
<form id="token-form" autocomplete="off"><label>Admin token <input id="token" type="password" size="40"></label>
 <button type="submit" id="save-token">Use token</button> <button type="button" id="forget">Forget</button>
 <a id="temporal-ui" target="_blank" rel="noopener">Temporal UI</a> <span id="updated"></span></form>
<p id="message" role="status"></p>
<section><h2>Treasury</h2><div id="treasury"></div></section>
<section><h2>Charts</h2>
 <div class="charts"><figure><figcaption>Treasury balance and available (USDC, last 7 days)</figcaption><div id="chart-treasury"></div></figure>
 <figure><figcaption>Settlements and failures per hour (last 48 hours)</figcaption><div id="chart-outcomes"></div></figure>
 <figure><figcaption>Runway per weekly reconciliation (days)</figcaption><div id="chart-runway"></div></figure></div></section>
${table('reconciliations', 'Weekly reconciliations', ['Period', 'Purchases', 'Fronted', 'Runway', 'Health', 'Discrepancies'])}
${table('stuck', 'Stuck workflows', ['Workflow', 'Status', 'Gross', 'Why', 'Actions'])}
${table('awaiting', 'Awaiting approval or treasury', ['Workflow', 'Status', 'Gross', 'Notes', 'Actions'])}
${table('purchases', 'Recent purchases', ['Purchase', 'Status', 'Gross', 'Rail', 'Updated', 'Actions'])}
<script src="/admin/static/uplot.js"></script>
<script src="/admin/static/admin.js"></script>
</body></html>`;
}

/** Public: the page shell and its script (mounted before adminAuth; helmet's CSP is set in createApp). */
export function adminPageRouter({ config }: { config: Pick<Config, 'temporalUiUrl'> }): Router {
  const router = Router();
  router.get('/', (_req, res) => {
    res.set('Cache-Control', 'no-store').type('html').send(renderAdminPage(config.temporalUiUrl));
  });
  router.get('/static/uplot.js', (_req, res) => {
    res.type('application/javascript').set('Cache-Control', 'public, max-age=86400').send(uplot('js'));
  });
  router.get('/static/uplot.css', (_req, res) => {
    res.type('text/css').set('Cache-Control', 'public, max-age=86400').send(uplot('css'));
  });
  router.get('/static/admin.js', (_req, res) => {
    res.type('application/javascript').set('Cache-Control', 'no-cache').send(adminScript());
  });
  return router;
}

const HOUR_MS = 3_600_000;
/** How far back the charts reach. */
const CHART_TREASURY_HOURS = 7 * 24;
const CHART_OUTCOME_HOURS = 48;
const CHART_RECONCILIATION_WEEKS = 12;

const micro = z.string().regex(/^-?(0|[1-9]\d*)$/);
export const dashboardChartsOut = z.strictObject({
  asOf: z.iso.datetime(),
  treasury: z
    .array(
      z.strictObject({
        rail: z.enum(TREASURY_RAILS),
        points: z.array(z.strictObject({ at: z.iso.datetime(), balanceMicroUsdc: micro, availableMicroUsdc: micro })),
      }),
    )
    .meta({
      description: `ledger balance and available (balance − open holds) at the end of each hour, last ${CHART_TREASURY_HOURS} hours`,
    }),
  outcomes: z
    .array(z.strictObject({ hourStart: z.iso.datetime(), settled: z.number().int(), failed: z.number().int() }))
    .meta({ description: `purchases settled and failed per hour, last ${CHART_OUTCOME_HOURS} hours` }),
  reconciliations: z
    .array(
      z.strictObject({
        id: z.string(),
        periodStart: z.iso.datetime(),
        periodEnd: z.iso.datetime(),
        purchaseCount: z.number().int(),
        frontedMicroUsdc: micro,
        runwayDays: z.number().int().nullable(),
        health: z.enum(['healthy', 'warning', 'critical']),
        discrepancies: z.array(z.strictObject({ kind: z.string(), reference: z.string(), expected: z.string(), actual: z.string() })),
      }),
    )
    .meta({ description: `the last ${CHART_RECONCILIATION_WEEKS} weekly reconciliations, oldest first (runway per week)` }),
});

/** Authenticated: what the page shows. */
export function dashboardRouter({
  db,
  ops,
  thresholds,
}: {
  db: Db;
  ops: WorkflowOps;
  thresholds: TreasuryOverviewDeps['thresholds'];
}): Router {
  const router = Router();
  router.get('/dashboard.json', async (_req, res) => {
    const [treasury, recent, stuck, awaiting] = await Promise.all([
      getTreasuryOverview({ db, thresholds }),
      listRecentPurchases(db, 25),
      ops.list('stuck', { limit: 50 }),
      ops.list('awaiting', { limit: 50 }),
    ]);
    res.json({
      treasury,
      recentPurchases: recent.map((p) => ({
        purchaseId: p.id,
        status: p.status,
        grossCents: p.grossCents?.toString() ?? null,
        rail: p.rail,
        updatedAt: p.updatedAt.toISOString(),
        temporalUiUrl: ops.uiUrl(purchaseWorkflowId(p.id), '').replace(/\/\/history$/, ''),
      })),
      stuck,
      awaiting,
    });
  });
  router.get('/dashboard/charts.json', async (_req, res) => {
    const now = new Date();
    const [treasury, outcomes, reconciliations] = await Promise.all([
      Promise.all(
        TREASURY_RAILS.map(async (rail) => ({
          rail,
          points: await treasurySeries(db, rail, new Date(now.getTime() - CHART_TREASURY_HOURS * HOUR_MS), now),
        })),
      ),
      hourlyOutcomes(db, new Date(now.getTime() - CHART_OUTCOME_HOURS * HOUR_MS), now),
      reconciliationHistory(db, CHART_RECONCILIATION_WEEKS),
    ]);
    const body: z.infer<typeof dashboardChartsOut> = {
      asOf: now.toISOString(),
      treasury: treasury.map((t) => ({
        rail: t.rail,
        points: t.points.map((p) => ({
          at: p.at.toISOString(),
          balanceMicroUsdc: p.balanceMicro.toString(),
          availableMicroUsdc: p.availableMicro.toString(),
        })),
      })),
      outcomes: outcomes.map((o) => ({ hourStart: o.hourStart.toISOString(), settled: o.settled, failed: o.failed })),
      reconciliations: reconciliations.map((r) => ({
        id: r.id,
        periodStart: r.periodStart.toISOString(),
        periodEnd: r.periodEnd.toISOString(),
        purchaseCount: r.purchaseCount,
        frontedMicroUsdc: r.frontedMicroUsdc.toString(),
        runwayDays: r.runwayDays,
        health: treasuryHealthOf(r.health),
        discrepancies: r.discrepancies.map((d) => ({ kind: d.kind, reference: d.reference, expected: d.expected, actual: d.actual })),
      })),
    };
    res.set('Cache-Control', 'no-store').json(body);
  });
  return router;
}
