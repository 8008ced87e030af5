/**
 * The route registry: every operation the API serves, with its request schemas (the same zod
 * objects the routes parse), its responses and status codes, and its security. `openapi.yaml` is
 * generated from it (`npm run openapi`; test/repo/openapi.test.ts fails when the committed file is
 * stale or a served route is missing here), and the 405 handler uses it to know each path's methods.
 */
import { z } from 'zod';
import { creatorWebhookPayload, CREATOR_WEBHOOK_SIGNATURE_DOC } from './creator-webhook-doc';
import { auditQuery } from './routes/audit';
import { dashboardChartsOut } from './routes/dashboard';
import { creatorWalletParam, earningsOut, earningsQuery } from './routes/earnings';
import { WALLET_MESSAGE_HEADER, WALLET_SIGNATURE_HEADER } from './wallet-proof';
import { customerIdParam, subscriptionCheckoutBody } from './routes/subscriptions';
import { scheduleParam } from './routes/treasury';
import { batchResetBody, cancelBody, listQuery, resetBody, terminateBody, workflowIdParam } from './routes/workflows';
import * as out from './responses';
import { actionBody, checkoutBody, createProductBody, pauseBody, purchaseIdParam, replenishedBody } from './validators';

export type Method = 'get' | 'post';

interface ResponseSpec {
  description: string;
  /** JSON unless contentType says otherwise */
  schema?: z.ZodType;
  contentType?: string;
  headers?: Record<string, { description: string; schema: z.ZodType }>;
}

export interface Operation {
  method: Method;
  /** OpenAPI template, e.g. /api/purchases/{purchaseId} */
  path: string;
  summary: string;
  tag: 'public' | 'webhooks' | 'health' | 'admin';
  /** `admin`: the admin token; GET also takes the read-only token (403 for it on anything else) */
  security?: 'admin';
  params?: z.ZodObject;
  query?: z.ZodObject;
  headers?: Record<string, { description: string; required: boolean; schema: z.ZodType }>;
  body?: { schema: z.ZodType; required: boolean; contentType?: string };
  responses: Record<number, ResponseSpec>;
  /** what a 404 means beyond "no such route" */
  notFound?: string;
  /** when the action conflicts with the current state (409) */
  conflict?: string;
  /** rate-limited per client (429 with Retry-After); admin routes are, after repeated failed authentications */
  rateLimited?: boolean;
  /** answers 503 when a dependency is down */
  unavailable?: string;
}

const json = (description: string, schema: z.ZodType, headers?: ResponseSpec['headers']): ResponseSpec => ({
  description,
  schema,
  headers,
});
const optionalBody = (schema: z.ZodType) => ({ schema, required: false });
const requiredBody = (schema: z.ZodType) => ({ schema, required: true });
/** An admin route: the admin token (GET also takes the read-only token). */
const admin = (op: Omit<Operation, 'tag' | 'security'>): Operation => ({ ...op, tag: 'admin', security: 'admin' });
/** An admin GET answering 200 with `schema`. */
const adminRead = (path: string, summary: string, schema: z.ZodType): Operation =>
  admin({ method: 'get', path, summary, responses: { 200: json('ok', schema) } });

export const OPERATIONS: readonly Operation[] = [
  {
    method: 'post',
    path: '/api/checkout/sessions',
    tag: 'public',
    summary: 'Create a Stripe Checkout Session and a pending purchase',
    body: requiredBody(checkoutBody),
    responses: { 201: json('created', out.checkoutSessionOut) },
    notFound: 'no product with that id',
    rateLimited: true,
  },
  {
    method: 'get',
    path: '/api/purchases/{purchaseId}',
    tag: 'public',
    summary: 'Purchase status for a polling frontend (PostgreSQL read model)',
    params: purchaseIdParam,
    headers: {
      'If-None-Match': { description: 'the ETag of the last answer: 304 while nothing changed', required: false, schema: z.string() },
    },
    responses: {
      200: json('the purchase', out.purchaseOut, { ETag: { description: 'weak validator of this version', schema: z.string() } }),
      304: { description: 'unchanged since the ETag', headers: { ETag: { description: 'the same validator', schema: z.string() } } },
    },
    notFound: 'no purchase with that id',
  },
  {
    method: 'post',
    path: '/api/subscriptions/checkout',
    tag: 'public',
    summary: 'Checkout in subscription mode; a trial only for customers who never had one',
    body: requiredBody(subscriptionCheckoutBody),
    responses: { 201: json('created', out.subscriptionCheckoutOut) },
  },
  {
    method: 'get',
    path: '/api/subscriptions/{customerId}/status',
    tag: 'public',
    summary: "Validity by Stripe's rule (trialing or active, and the period or trial not ended)",
    params: customerIdParam,
    responses: { 200: json('status (a customer never seen has no subscriptions)', out.subscriptionStatusOut) },
  },
  ...(['', '.csv'] as const).map((ext): Operation => ({
    method: 'get',
    path: `/api/creators/{wallet}/earnings${ext}`,
    tag: 'public',
    summary: ext
      ? "The creator's earnings lines for a period as CSV (the same lines as the JSON), behind a signed proof of wallet ownership"
      : "The creator's earnings for a period: settled, pending and clawed-back totals and one line per purchase with its transaction, behind a signed proof of wallet ownership",
    params: creatorWalletParam,
    query: earningsQuery,
    headers: {
      [WALLET_MESSAGE_HEADER]: {
        description:
          'base64 of the signed message: "settlement-engine: prove wallet ownership\\nwallet: <wallet>\\nroute: GET <this path>\\nissuedAt: <ISO time>", at most WALLET_PROOF_MAX_AGE old',
        required: true,
        schema: z.string(),
      },
      [WALLET_SIGNATURE_HEADER]: {
        description: "the wallet's signature of the message: base64 ed25519 (Solana) or 0x-hex EIP-191 personal_sign (EVM)",
        required: true,
        schema: z.string(),
      },
    },
    responses: {
      200: ext ? { description: 'CSV with a header row', contentType: 'text/csv', schema: z.string() } : json('ok', earningsOut),
      401: json(
        'missing, malformed, expired or wrong-wallet ownership proof, or a signature that does not verify (unauthorized)',
        out.errorBody,
      ),
    },
  })),
  {
    method: 'post',
    path: '/webhooks/stripe',
    tag: 'webhooks',
    summary: 'Stripe webhooks: signature checked on the raw body (300 s tolerance), stored once by event id, 2xx fast',
    headers: { 'Stripe-Signature': { description: "Stripe's signature of the raw body", required: true, schema: z.string() } },
    body: { schema: z.object({}).loose().meta({ description: 'a Stripe event' }), required: true },
    responses: {
      200: json(
        'stored once (or a duplicate); acted on after the answer, from the stored event; unknown event types are ignored',
        out.webhookAck,
      ),
    },
  },
  { method: 'get', path: '/healthz', tag: 'health', summary: 'The process is alive', responses: { 200: json('ok', out.healthOut) } },
  {
    method: 'get',
    path: '/readyz',
    tag: 'health',
    summary: 'The database, Temporal and every configured chain are reachable',
    responses: { 200: json('ready', out.readinessOut), 503: json("not ready, with each check's result", out.readinessOut) },
  },
  {
    method: 'get',
    path: '/metrics',
    tag: 'health',
    summary: 'Prometheus metrics',
    responses: { 200: { description: 'the text exposition format', contentType: 'text/plain', schema: z.string() } },
  },
  {
    method: 'get',
    path: '/admin',
    tag: 'admin',
    summary: 'The admin page: an HTML shell without data; its script asks for the token and calls the admin API',
    responses: { 200: { description: 'html', contentType: 'text/html', schema: z.string() } },
  },
  {
    method: 'get',
    path: '/admin/static/admin.js',
    tag: 'admin',
    summary: "The admin page's script",
    responses: { 200: { description: 'javascript', contentType: 'application/javascript', schema: z.string() } },
  },
  adminRead('/admin/dashboard.json', 'Treasury, recent purchases, stuck and awaiting runs for the admin page', out.dashboardOut),
  adminRead(
    '/admin/dashboard/charts.json',
    "The admin page's charts: treasury balance and available per hour, settlements and failures per hour, weekly reconciliations",
    dashboardChartsOut,
  ),
  ...(['js', 'css'] as const).map((ext): Operation => ({
    method: 'get',
    path: `/admin/static/uplot.${ext}`,
    tag: 'admin',
    summary: `The charting library (uPlot) ${ext === 'js' ? 'script' : 'style sheet'}, served by the engine`,
    responses: { 200: { description: ext, contentType: ext === 'js' ? 'application/javascript' : 'text/css', schema: z.string() } },
  })),
  ...(['', '.csv'] as const).map((ext) =>
    admin({
      method: 'get',
      path: `/admin/creators/{wallet}/earnings${ext}`,
      summary: ext
        ? "Any creator's earnings lines for a period as CSV"
        : "Any creator's earnings for a period (totals and lines, as the public route)",
      params: creatorWalletParam,
      query: earningsQuery,
      responses: {
        200: ext ? { description: 'CSV with a header row', contentType: 'text/csv', schema: z.string() } : json('ok', earningsOut),
      },
    }),
  ),
  adminRead('/admin/products', 'List products', out.productList),
  admin({
    method: 'post',
    path: '/admin/products',
    summary: 'Create a product (audited)',
    body: requiredBody(createProductBody),
    responses: { 201: json('created', out.productOut) },
  }),
  ...(['approve', 'reject', 'retry'] as const).map((action) =>
    admin({
      method: 'post',
      path: `/admin/purchases/{purchaseId}/${action}`,
      summary: {
        approve: 'Approve a purchase awaiting approval (audited, idempotent)',
        reject: 'Reject a purchase awaiting approval (audited, idempotent)',
        retry: 'Signal a purchase to re-check now (fee capture, treasury); audited',
      }[action],
      params: purchaseIdParam,
      body: optionalBody(actionBody),
      responses: { 202: json('accepted', out.purchaseActionOut) },
      notFound: 'no purchase or run with that id',
      conflict: "the action makes no sense in the run's current state",
    }),
  ),
  adminRead(
    '/admin/settlement',
    'The emergency pause: whether settlement is paused, by whom and why, and how many runs wait at the pivot',
    out.settlementStateOut,
  ),
  admin({
    method: 'post',
    path: '/admin/settlement/pause',
    summary:
      'Emergency pause (audited, flagged, idempotent): purchase runs wait before the on-chain pivot as `paused`; a send already under way finishes',
    body: requiredBody(pauseBody),
    responses: { 200: json('paused (alreadyApplied when it already was)', out.settlementPauseOut) },
  }),
  admin({
    method: 'post',
    path: '/admin/settlement/resume',
    summary: 'Lift the emergency pause (audited, idempotent) and signal every run waiting at the pivot, oldest first',
    body: optionalBody(actionBody),
    responses: { 200: json('resumed (alreadyApplied when it was not paused)', out.settlementResumeOut) },
  }),
  adminRead(
    '/admin/treasury',
    'Balance, open holds, available, runway, health, last reconciliation and weekly stats',
    out.treasuryOverviewOut,
  ),
  admin({
    method: 'post',
    path: '/admin/treasury/replenished',
    summary: 'Book a treasury top-up (idempotent by reference) and wake every purchase awaiting the treasury',
    body: requiredBody(replenishedBody),
    responses: { 202: json('recorded (false when the reference was already booked)', out.replenishedOut) },
  }),
  admin({
    method: 'get',
    path: '/admin/workflows',
    summary: 'Purchase runs by state, from Temporal visibility plus describe, with Temporal UI links',
    query: listQuery,
    responses: { 200: json('ok', out.workflowListOut) },
  }),
  admin({
    method: 'get',
    path: '/admin/workflows/{workflowId}',
    summary: 'One run with pending activities, last failure and purchase context',
    params: workflowIdParam,
    responses: { 200: json('ok', out.workflowRowOut) },
    notFound: 'no workflow with that id',
  }),
  admin({
    method: 'post',
    path: '/admin/workflows/batch-reset',
    summary: 'Reset every running purchase run matching a visibility query; a dry run unless dryRun is false',
    body: requiredBody(batchResetBody),
    responses: {
      200: json('the targets (dry run)', out.batchResetOut),
      202: json('the targets and what each reset did', out.batchResetOut),
    },
  }),
  admin({
    method: 'post',
    path: '/admin/workflows/{workflowId}/reset',
    summary: 'Reset to the last or first completed workflow task, or to an event id; signals are reapplied (audited)',
    params: workflowIdParam,
    body: optionalBody(resetBody),
    responses: { 202: json('accepted', out.actionResultOut) },
    notFound: 'no workflow with that id',
    conflict: 'the run is past the pivot or has nothing to reset to',
  }),
  admin({
    method: 'post',
    path: '/admin/workflows/{workflowId}/cancel',
    summary: 'Cancel a running purchase run; its compensations run (audited)',
    params: workflowIdParam,
    body: optionalBody(cancelBody),
    responses: { 202: json('accepted', out.actionResultOut) },
    notFound: 'no workflow with that id',
    conflict: 'the run is not running or is past the pivot',
  }),
  admin({
    method: 'post',
    path: '/admin/workflows/{workflowId}/terminate',
    summary: 'Terminate a running run: no compensation runs; the reason is required and the action flagged in the audit',
    params: workflowIdParam,
    body: requiredBody(terminateBody),
    responses: { 202: json('accepted', out.actionResultOut) },
    notFound: 'no workflow with that id',
    conflict: 'the run is not running',
  }),
  adminRead('/admin/schedules', 'The schedules (reconciliation, trial check, engine health check) and their next runs', out.schedulesOut),
  admin({
    method: 'post',
    path: '/admin/schedules/{scheduleId}/trigger',
    summary: 'Trigger treasury-reconciliation, subscription-trial-check or engine-health-check now (audited)',
    params: scheduleParam,
    responses: { 202: json('triggered', out.scheduleTriggeredOut) },
    notFound: 'the schedule does not exist yet (the worker creates it at start)',
  }),
  admin({
    method: 'get',
    path: '/admin/audit',
    summary: 'Audit rows (who, what, target, reason, result, time), newest first, filterable',
    query: auditQuery,
    responses: { 200: json('ok', out.auditListOut) },
  }),
];

type JsonSchema = Record<string, unknown>;

function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'throw', target: 'draft-2020-12' }) as JsonSchema;
  return rest;
}

const errorResponse = (name: string) => ({ $ref: `#/components/responses/${name}` });
const ERROR_RESPONSES = {
  BadRequest: 'invalid input (validation_failed, invalid_wallet, invalid_splits); nothing changed',
  Unauthorized: 'missing or wrong bearer token',
  Forbidden: 'the read-only token cannot act',
  NotFound: 'no such resource',
  Conflict: 'the action makes no sense in the current state',
  PayloadTooLarge: 'request body too large',
  TooManyRequests: 'rate limited: retry after Retry-After seconds',
  InternalError: 'unexpected failure, masked as internal_error',
  ServiceUnavailable: 'a dependency (database, Temporal, a chain RPC) is unreachable',
} as const;

function parametersOf(op: Operation): JsonSchema[] {
  const from = (where: 'path' | 'query', obj: z.ZodObject | undefined) => {
    if (!obj) return [];
    const js = toJsonSchema(obj, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
    return Object.entries(js.properties ?? {}).map(([name, schema]) => ({
      name,
      in: where,
      required: where === 'path' || (js.required ?? []).includes(name),
      schema,
    }));
  };
  const headers = Object.entries(op.headers ?? {}).map(([name, h]) => ({
    name,
    in: 'header',
    required: h.required,
    description: h.description,
    schema: toJsonSchema(h.schema, 'input'),
  }));
  return [...from('path', op.params), ...from('query', op.query), ...headers];
}

function operationObject(op: Operation): JsonSchema {
  const responses: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(op.responses)) {
    responses[status] = {
      description: r.description,
      ...(r.headers
        ? {
            headers: Object.fromEntries(
              Object.entries(r.headers).map(([k, h]) => [k, { description: h.description, schema: toJsonSchema(h.schema, 'output') }]),
            ),
          }
        : {}),
      ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: toJsonSchema(r.schema, 'output') } } } : {}),
    };
  }
  const hasInput = Boolean(op.params || op.query || op.body || op.headers);
  const extra: [boolean, number, string][] = [
    [hasInput, 400, op.tag === 'webhooks' ? 'BadRequestSignature' : 'BadRequest'],
    [op.security === 'admin', 401, 'Unauthorized'],
    [op.security === 'admin' && op.method !== 'get', 403, 'Forbidden'],
    [Boolean(op.params || op.notFound), 404, 'NotFound'],
    [Boolean(op.conflict), 409, 'Conflict'],
    [Boolean(op.body), 413, 'PayloadTooLarge'],
    [Boolean(op.rateLimited) || op.security === 'admin', 429, 'TooManyRequests'],
    [true, 500, 'InternalError'],
  ];
  for (const [when, status, name] of extra) {
    if (!when || responses[status]) continue;
    const description = status === 404 && op.notFound ? op.notFound : status === 409 && op.conflict ? op.conflict : undefined;
    responses[status] = description
      ? { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }
      : errorResponse(name);
  }
  const ordered = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)));
  const parameters = parametersOf(op);
  return {
    tags: [op.tag],
    summary: op.summary,
    operationId: `${op.method}${op.path
      .replace(/\{(\w+)\}/g, 'By-$1')
      .split(/[^A-Za-z0-9]+/)
      .map((w) => (w ? w[0]!.toUpperCase() + w.slice(1) : ''))
      .join('')}`,
    ...(op.security ? { security: [{ adminToken: [] }] } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(op.body
      ? {
          requestBody: {
            required: op.body.required,
            content: { [op.body.contentType ?? 'application/json']: { schema: toJsonSchema(op.body.schema, 'input') } },
          },
        }
      : {}),
    responses: ordered,
  };
}

/** The OpenAPI 3.1 document of the whole API. */
export function buildOpenApiDocument(): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) (paths[op.path] ??= {})[op.method] = operationObject(op);
  const errorRef = { $ref: '#/components/schemas/Error' };
  const responses: Record<string, unknown> = Object.fromEntries(
    Object.entries(ERROR_RESPONSES).map(([name, description]) => [
      name,
      {
        description,
        ...(name === 'TooManyRequests'
          ? { headers: { 'Retry-After': { description: 'seconds until the limit resets', schema: { type: 'integer' } } } }
          : {}),
        content: { 'application/json': { schema: errorRef } },
      },
    ]),
  );
  responses.BadRequestSignature = {
    description: 'missing, forged or stale signature (invalid_signature), or a malformed body',
    content: { 'application/json': { schema: errorRef } },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Settlement engine API',
      version: '0.1.0',
      description: [
        'Generated from the zod schemas in src/api by `npm run openapi`; do not edit by hand.',
        '',
        'Money fields are decimal strings of integers (cents, or micro-USDC). Errors are `{ "error": { "type", "message" } }`',
        'with a stable `type`; anything unexpected is masked as 500 `internal_error`. Admin routes take',
        '`Authorization: Bearer <ADMIN_TOKEN>`; the optional read-only token is accepted for GET only (403 otherwise).',
        'A method a path does not declare is answered 405 `method_not_allowed` with an `Allow` header.',
      ].join('\n'),
    },
    servers: [{ url: 'http://127.0.0.1:3000' }],
    tags: [
      { name: 'public', description: 'checkout and the purchase read model, for the frontend' },
      { name: 'webhooks', description: 'Stripe deliveries' },
      { name: 'health', description: 'liveness, readiness, metrics' },
      { name: 'admin', description: 'operators: products, treasury, workflow runs, schedules, audit, creator earnings' },
    ],
    paths,
    webhooks: {
      'payout.settled': {
        post: {
          summary: 'Sent to each CREATOR_WEBHOOK_URLS endpoint for every settled payout',
          description: CREATOR_WEBHOOK_SIGNATURE_DOC,
          operationId: 'payoutSettled',
          parameters: [
            {
              name: 'Settlement-Signature',
              in: 'header',
              required: true,
              description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with CREATOR_WEBHOOK_SECRET>',
              schema: { type: 'string' },
            },
            {
              name: 'Settlement-Event-Id',
              in: 'header',
              required: true,
              description: 'the event id (also `id` in the body): the same on every retry, for deduplication',
              schema: { type: 'string' },
            },
          ],
          requestBody: { required: true, content: { 'application/json': { schema: toJsonSchema(creatorWebhookPayload, 'output') } } },
          responses: { '2XX': { description: 'received; any other answer (or none within 10 s) is retried with backoff' } },
        },
      },
    },
    components: {
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN, or ADMIN_READONLY_TOKEN for GET' } },
      schemas: { Error: toJsonSchema(out.errorBody, 'output') },
      responses,
    },
  };
}

/** Each documented path's methods, to answer 405 with `Allow` for the others. */
export function allowedMethodsByPath(ops: readonly Operation[] = OPERATIONS): Map<string, Method[]> {
  const byPath = new Map<string, Method[]>();
  for (const op of ops) byPath.set(op.path, [...(byPath.get(op.path) ?? []), op.method]);
  return byPath;
}
