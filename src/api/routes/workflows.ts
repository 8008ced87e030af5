/** Admin: purchase runs from Temporal visibility, and the operator actions on them (issue 7). */
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { WorkflowOps } from '../../services/workflow-ops';
import { WORKFLOW_STATES } from '../../services/workflow-ops';
import { actorOf } from '../auth';

const listQuery = z.object({
  state: z.enum(WORKFLOW_STATES),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});
const workflowIdParam = z.object({ workflowId: z.string().regex(/^[A-Za-z0-9_.:-]{1,200}$/, 'not a workflow id') });
const resetTo = z.union([z.enum(['last', 'first']), z.number().int().positive()]);
const resetBody = z.object({
  to: resetTo.default('last'),
  runId: z.string().min(1).max(100).optional(),
  reason: z.string().trim().min(1).max(500).optional(),
}).strict();
const cancelBody = z.object({ reason: z.string().trim().max(500).optional() }).strict();
/** The reason is required; the service enforces it too, so the refusal is audited. */
const terminateBody = z.object({ reason: z.string().max(500).optional() }).strict();
const batchResetBody = z.object({
  query: z.string().trim().min(1).max(2000),
  dryRun: z.boolean().default(true),
  to: z.enum(['last', 'first']).default('last'),
  reason: z.string().trim().min(1).max(500).optional(),
  limit: z.number().int().min(1).max(1000).optional(),
}).strict();

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
    const body = resetBody.parse(req.body ?? {});
    res.status(202).json(await ops.reset(workflowId, { ...body, actor: actor(req) }));
  });

  router.post('/workflows/:workflowId/cancel', async (req, res) => {
    const { workflowId } = workflowIdParam.parse(req.params);
    const body = cancelBody.parse(req.body ?? {});
    res.status(202).json(await ops.cancel(workflowId, { ...body, actor: actor(req) }));
  });

  router.post('/workflows/:workflowId/terminate', async (req, res) => {
    const { workflowId } = workflowIdParam.parse(req.params);
    const body = terminateBody.parse(req.body ?? {});
    res.status(202).json(await ops.terminate(workflowId, { ...body, actor: actor(req) }));
  });

  return router;
}
