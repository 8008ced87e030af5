/** openapi.yaml is generated from the route registry, which lists every served route and nothing else. */
import fs from 'node:fs';
import path from 'node:path';
import { OPERATIONS } from '../../src/api/openapi';
import { OPENAPI_PATH, renderOpenApi } from '../../scripts/openapi';

const root = path.resolve(__dirname, '../..');
const MOUNT: Record<string, string> = {
  'public.ts': '/api',
  'subscriptions.ts': '/api',
  'creator-earnings.ts': '/api',
  'webhooks.ts': '/webhooks',
  'health.ts': '',
};

function servedRoutes(): string[] {
  const dir = path.join(root, 'src/api/routes');
  const routes: string[] = [];
  for (const file of fs.readdirSync(dir)) {
    const src = fs.readFileSync(path.join(dir, file), 'utf8');
    for (const m of src.matchAll(/router\.(get|post|put|patch|delete)\((['`])([^'`]+)\2/g)) {
      const [, method, , route] = m as unknown as [string, string, string, string];
      // a route registered once per action (`/purchases/:purchaseId/${action}`) expands to each action
      const actions = /\$\{action\}/.test(route)
        ? [...src.matchAll(/for \(const action of \[([^\]]+)\]/g)].flatMap((a) =>
            [...(a[1] ?? '').matchAll(/'(\w+)'/g)].map((x) => x[1] ?? ''),
          )
        : [''];
      for (const action of actions) {
        const expanded = route.replace('${action}', action);
        const full = `${MOUNT[file] ?? '/admin'}${expanded === '/' ? '' : expanded}`.replace(/:(\w+)/g, '{$1}');
        routes.push(`${method.toUpperCase()} ${full}`);
      }
    }
  }
  return routes.sort();
}

it('the committed openapi.yaml is what `npm run openapi` generates', () => {
  expect(fs.readFileSync(OPENAPI_PATH, 'utf8')).toBe(renderOpenApi());
});

it('every served route is in the registry and every registered route is served', () => {
  const registered = OPERATIONS.map((op) => `${op.method.toUpperCase()} ${op.path}`).sort();
  expect(registered).toEqual(servedRoutes());
});
