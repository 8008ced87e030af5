/**
 * The /admin page. The HTML shell is served without the token (it holds no data): the browser
 * asks for the token, keeps it in sessionStorage, and its script calls the admin API, starting with
 * the authenticated GET /admin/dashboard.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Router } from 'express';
import type { Config } from '../../config';
import type { Db } from '../../db/client';
import { listRecentPurchases } from '../../db/purchases';
import { getTreasuryOverview, type TreasuryOverviewDeps } from '../../services/treasury';
import type { WorkflowOps } from '../../services/workflow-ops';
import { purchaseWorkflowId } from '../../shared/ids';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

let script: string | undefined;
const adminScript = () => (script ??= fs.readFileSync(path.join(__dirname, '../static/admin.js'), 'utf8'));

/** The page's one inline style sheet; the CSP allows exactly this text by its hash (src/api/abuse-limits.ts). */
export const ADMIN_PAGE_STYLE = `
 body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222} h1{font-size:1.3rem} h2{font-size:1.05rem;margin-top:1.5rem}
 table{border-collapse:collapse;width:100%} th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
 .stat{display:inline-block;margin-right:1.5rem} .stat span{display:block;color:#666;font-size:.8rem}
 .error{color:#b00020} .ok{color:#1b5e20} .empty{color:#888} button{margin-right:.25rem} #updated{color:#888;font-size:.8rem}
`;

export function renderAdminPage(temporalUiUrl: string): string {
  const ui = escapeHtml(temporalUiUrl);
  const table = (id: string, title: string, headings: string[]) => `
  <section><h2>${title}</h2><table><thead><tr>${headings.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody id="${id}"></tbody></table></section>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Settlement admin</title>
<style>${ADMIN_PAGE_STYLE}</style></head>
<body data-temporal-ui="${ui}">
<h1>Settlement admin</h1>
<form id="token-form" autocomplete="off"><label>Admin token <input id="token" type="password" size="40"></label>
 <button type="submit" id="save-token">Use token</button> <button type="button" id="forget">Forget</button>
 <a id="temporal-ui" target="_blank" rel="noopener">Temporal UI</a> <span id="updated"></span></form>
<p id="message" role="status"></p>
<section><h2>Treasury</h2><div id="treasury"></div></section>
${table('stuck', 'Stuck workflows', ['Workflow', 'Status', 'Gross', 'Why', 'Actions'])}
${table('awaiting', 'Awaiting approval or treasury', ['Workflow', 'Status', 'Gross', 'Notes', 'Actions'])}
${table('purchases', 'Recent purchases', ['Purchase', 'Status', 'Gross', 'Rail', 'Updated', 'Actions'])}
<script src="/admin/static/admin.js"></script>
</body></html>`;
}

/** Public: the page shell and its script (mounted before adminAuth; helmet's CSP is set in createApp). */
export function adminPageRouter({ config }: { config: Pick<Config, 'temporalUiUrl'> }): Router {
  const router = Router();
  router.get('/', (_req, res) => {
    res.set('Cache-Control', 'no-store').type('html').send(renderAdminPage(config.temporalUiUrl));
  });
  router.get('/static/admin.js', (_req, res) => {
    res.type('application/javascript').set('Cache-Control', 'no-cache').send(adminScript());
  });
  return router;
}

/** Authenticated: what the page shows. */
export function dashboardRouter({ db, ops, thresholds }: { db: Db; ops: WorkflowOps; thresholds: TreasuryOverviewDeps['thresholds'] }): Router {
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
  return router;
}
