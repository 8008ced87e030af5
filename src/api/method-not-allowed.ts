import type { RequestHandler } from 'express';
import { ErrorType } from '../shared/errors';
import type { Method } from './openapi';

interface Template {
  segments: (string | null)[];
  /** '1' per concrete segment, '0' per parameter: the higher, the more specific */
  score: string;
  allow: string;
  methods: Set<string>;
}

/**
 * A known path asked with a method it does not declare: 405 with `Allow` (OPTIONS: 204 with
 * `Allow`). A concrete segment beats a parameter, as in OpenAPI, so /admin/workflows/batch-reset is
 * not taken for /admin/workflows/{workflowId}. Unknown paths fall through to the 404. Every request
 * passes here, so the templates are grouped by their number of segments up front.
 */
export function methodNotAllowed(paths: ReadonlyMap<string, readonly Method[]>): RequestHandler {
  const bySegmentCount = new Map<number, Template[]>();
  for (const [p, methods] of paths) {
    const upper = methods.map((m) => m.toUpperCase());
    const all = (upper.includes('GET') ? [...upper, 'HEAD'] : upper).sort();
    const segments = p
      .split('/')
      .slice(1)
      .map((s) => (s.startsWith('{') ? null : s));
    const template = {
      segments,
      score: segments.map((s) => (s === null ? '0' : '1')).join(''),
      allow: all.join(', '),
      methods: new Set(all),
    };
    bySegmentCount.set(segments.length, [...(bySegmentCount.get(segments.length) ?? []), template]);
  }
  return (req, res, next) => {
    const segments = req.path
      .replace(/(.)\/+$/, '$1')
      .split('/')
      .slice(1);
    let best: Template | undefined;
    for (const t of bySegmentCount.get(segments.length) ?? []) {
      if (!t.segments.every((s, i) => (s === null ? segments[i] !== '' : s === segments[i]))) continue;
      if (!best || t.score > best.score) best = t;
    }
    if (!best || best.methods.has(req.method)) return next();
    res.set('Allow', best.allow);
    if (req.method === 'OPTIONS') return void res.status(204).end();
    res.status(405).json({
      error: { type: ErrorType.MethodNotAllowed, message: `${req.method} is not allowed on ${req.path}; allowed: ${best.allow}` },
    });
  };
}
