import type { Client } from '@temporalio/client';
import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../../db/client';
import { audited } from '../../services/audit';
import { describeSchedules, SCHEDULE_IDS, triggerSchedule } from '../../services/schedules';
import { getTreasuryOverview, type TreasuryOverviewDeps } from '../../services/treasury';
import { actorOf } from '../auth';

export const scheduleParam = z.object({ scheduleId: z.enum(SCHEDULE_IDS as [string, ...string[]]) });

/** Admin (mounted under /admin behind the bearer check): treasury view and schedule triggers. */
export function treasuryRouter(deps: TreasuryOverviewDeps & { db: Db; temporal: Client }): Router {
  const router = Router();

  router.get('/treasury', async (_req, res) => {
    res.set('Cache-Control', 'no-store').json(await getTreasuryOverview(deps));
  });

  router.get('/schedules', async (_req, res) => {
    res.json({ schedules: await describeSchedules(deps.temporal) });
  });

  router.post('/schedules/:scheduleId/trigger', async (req, res) => {
    const { scheduleId } = scheduleParam.parse(req.params);
    const result = await audited(deps.db, { actor: actorOf(req.adminRole), action: 'schedule.trigger', target: scheduleId }, () =>
      triggerSchedule(deps.temporal, scheduleId),
    );
    res.status(202).json(result);
  });

  return router;
}
