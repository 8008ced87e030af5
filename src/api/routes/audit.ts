/** Admin: GET /admin/audit lists audit rows, newest first, with filters. */
import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../../db/client';
import { listAudit } from '../../services/audit';

/** PostgreSQL text cannot hold NUL, so a filter with one could only fail in the database (a 500): refused as input. */
// eslint-disable-next-line no-control-regex -- the control character NUL is exactly what is refused
const noNul = /^[^\u0000]*$/;
const filterText = (max: number) => z.string().max(max).regex(noNul, 'must not contain NUL characters');

export const auditQuery = z
  .object({
    actor: filterText(100).optional(),
    /** exact, or a prefix ending in `*` (e.g. `workflow.*`) */
    action: filterText(100).optional(),
    target: filterText(500).optional(),
    result: filterText(100).optional(),
    flagged: z
      .enum(['true', 'false'])
      .transform((v) => v === 'true')
      .optional(),
    since: z.iso
      .datetime({ offset: true })
      .transform((v) => new Date(v))
      .optional(),
    until: z.iso
      .datetime({ offset: true })
      .transform((v) => new Date(v))
      .optional(),
    /** an audit id (int8): the page of rows older than it */
    before: z
      .string()
      .regex(/^\d{1,18}$/)
      .transform((v) => BigInt(v))
      .optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

export function auditRouter({ db }: { db: Db }): Router {
  const router = Router();
  router.get('/audit', async (req, res) => {
    const filter = auditQuery.parse(req.query);
    const entries = await listAudit(db, filter);
    res.json({ count: entries.length, entries, nextBefore: entries.length === filter.limit ? entries[entries.length - 1]?.id : undefined });
  });
  return router;
}
