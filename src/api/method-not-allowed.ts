import type { RequestHandler } from 'express';
import { ErrorType } from '../shared/errors';
import type { Method } from './openapi';

interface Template {
  segments: (string | null)[];
  allow: string;
  methods: Set<string>;
}

/**
 * A known path asked with a method it does not declare: 405 with `Allow` (OPTIONS: 204 with
 * `Allow`). A concrete segment beats a parameter, as in OpenAPI, so /admin/workflows/batch-reset is
 * not taken for /admin/workflows/{workflowId}. Unknown paths fall through to the 404.
 */
export function methodNotAllowed(paths: ReadonlyMap<string, readonly Method[]>): RequestHandler {
  const templates: Template[] = [...paths].map(([p, methods]) => {
    const upper = methods.map((m) => m.toUpperCase());
    const all = (upper.includes('GET') ? [...upper, 'HEAD'] : upper).sort();
    return {
      segments: p
        .split('/')
        .slice(1)
        .map((s) => (s.startsWith('{') ? null : s)),
      allow: all.join(', '),
      methods: new Set(all),
    };
  });
  return (req, res, next) => {
    const segments = req.path
      .replace(/(.)\/+$/, '$1')
      .split('/')
      .slice(1);
    let best: Template | undefined;
    let bestScore = '';
    for (const t of templates) {
      if (t.segments.length !== segments.length || !t.segments.every((s, i) => (s === null ? segments[i] !== '' : s === segments[i])))
        continue;
      const score = t.segments.map((s) => (s === null ? '0' : '1')).join('');
      if (!best || score > bestScore) [best, bestScore] = [t, score];
    }
    if (!best || best.methods.has(req.method)) return next();
    res.set('Allow', best.allow);
    if (req.method === 'OPTIONS') return void res.status(204).end();
    res.status(405).json({
      error: { type: ErrorType.MethodNotAllowed, message: `${req.method} is not allowed on ${req.path}; allowed: ${best.allow}` },
    });
  };
}
