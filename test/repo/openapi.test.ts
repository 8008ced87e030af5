/** openapi.yaml documents every route the API serves, and nothing it does not. */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const root = path.resolve(__dirname, '../..');
const MOUNT: Record<string, string> = { 'public.ts': '/api', 'subscriptions.ts': '/api', 'webhooks.ts': '/webhooks', 'health.ts': '' };

function servedRoutes(): string[] {
  const dir = path.join(root, 'src/api/routes');
  const routes: string[] = [];
  for (const file of fs.readdirSync(dir)) {
    const src = fs.readFileSync(path.join(dir, file), 'utf8');
    for (const m of src.matchAll(/router\.(get|post|put|patch|delete)\('([^']+)'/g)) {
      const [, method, route] = m as unknown as [string, string, string];
      if (route.startsWith('/static/')) continue; // the admin page's script, not an API
      const full = `${MOUNT[file] ?? '/admin'}${route === '/' ? '' : route}`.replace(/:(\w+)/g, '{$1}');
      routes.push(`${method.toUpperCase()} ${full}`);
    }
  }
  return routes.sort();
}

it('every served route is in openapi.yaml and every documented route is served', () => {
  const doc = parse(fs.readFileSync(path.join(root, 'openapi.yaml'), 'utf8')) as { paths: Record<string, Record<string, unknown>> };
  const documented = Object.entries(doc.paths)
    .flatMap(([p, ops]) => Object.keys(ops).filter((k) => ['get', 'post', 'put', 'patch', 'delete'].includes(k)).map((m) => `${m.toUpperCase()} ${p}`))
    // the admin purchase and workflow actions are one templated path each in the document
    .flatMap((r) => (r === 'POST /admin/workflows/{workflowId}/{action}' ? ['reset', 'cancel', 'terminate'].map((a) => `POST /admin/workflows/{workflowId}/${a}`) : [r]))
    .sort();
  expect(documented).toEqual(servedRoutes());
});
