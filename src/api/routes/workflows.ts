/** Admin: purchase runs from Temporal visibility, and the operator actions on them (issue 7). */
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { WorkflowOps } from '../../services/workflow-ops';
import { WORKFLOW_STATES } from '../../services/workflow-ops';
import { actorOf } from '../auth';
import { text } from '../validators';

export const listQuery = z.object({
  state: z.enum(WORKFLOW_STATES),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});
export const workflowIdParam = z.object({ workflowId: z.string().regex(/^[A-Za-z0-9_.:-]{1,200}$/, 'not a workflow id') });
const resetTo = z.union([z.enum(['last', 'first']), z.number().int().positive()]);
export const resetBody = z
  .object({
    to: resetTo.default('last'),
    runId: z.uuid().optional().meta({ description: 'the run you looked at; a reset of a run already replaced is not repeated' }),
    reason: text(500).optional(),
  })
  .strict()
  .default({ to: 'last' });
export const cancelBody = z
  .object({ reason: z.string().max(500).trim().optional() })
  .strict()
  .default({});
export const terminateBody = z.object({ reason: text(500) }).strict();
export const batchResetBody = z
  .object({
    query: text(2000).meta({
      description: 'a Temporal visibility query, ANDed with running purchase workflows (400 when Temporal refuses it)',
    }),
    dryRun: z.boolean().default(true),
    to: z.enum(['last', 'first']).default('last'),
    reason: text(500).optional(),
    limit: z.number().int().min(1).max(1000).optional(),
  })
  .strict();

export function workflowsRouter({ ops }: { ops: WorkflowOps }): Router {
  const router = Router();
  const actor = (req: Request) => actorOf(req.adminRole);

  router.get('/workflows', async (req, res) => {
    const q = listQuery.parse(req.query);
    const workflows = await ops.list(q.state, { limit: q.limit });
    res.json({ state: q.state, count: workflows.length, workflows });
  });

  router.get('/workflows/:workflowId', async (req, res) => {
    const { workflowId } = workflowIdParam.parse(req.params);
    res.json(await ops.show(workflowId));
  });

  router.post('/workflows/batch-reset', async (req, res) => {
    const body = batchResetBody.parse(req.body ?? {});
    const result = await ops.batchReset({ ...body, actor: actor(req) });
    res.status(body.dryRun ? 200 : 202).json(result);
  });

  router.post('/workflows/:workflowId/reset', async (req, res) => {
    const { workflowId } = workflowIdParam.parse(req.params);
    const body = resetBody.parse(req.body);
    res.status(202).json(await ops.reset(workflowId, { ...body, actor: actor(req) }));
  });

  router.post('/workflows/:workflowId/cancel', async (req, res) => {
    const { workflowId } = workflowIdParam.parse(req.params);
    const body = cancelBody.parse(req.body);
    res.status(202).json(await ops.cancel(workflowId, { ...body, actor: actor(req) }));
  });

  router.post('/workflows/:workflowId/terminate', async (req, res) => {
    const { workflowId } = workflowIdParam.parse(req.params);
    // A terminate without a reason is refused by the service, which audits the refusal.
    if (
      !terminateBody.shape.reason.safeParse((req.body as { reason?: unknown } | undefined)?.reason).success &&
      !hasUnknownKeys(req.body)
    ) {
      await ops.terminate(workflowId, { actor: actor(req) });
    }
    const body = terminateBody.parse(req.body ?? {});
    res.status(202).json(await ops.terminate(workflowId, { ...body, actor: actor(req) }));
  });

  return router;
}

const hasUnknownKeys = (body: unknown) => typeof body === 'object' && body !== null && Object.keys(body).some((k) => k !== 'reason');
