/**
 * Observability (issue 7 §5): log lines inside activities carry purchaseId/workflowId/runId, no
 * secret ever reaches a log line, failed activity attempts are counted by type, and the scrape-time
 * collector fills the settlement latency histogram and the treasury gauges.
 */
import { Writable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createMetrics } from '../../src/api/metrics';
import { loadConfig } from '../../src/config';
import { recordTreasuryFunding } from '../../src/db/ledger';
import { createLogger } from '../../src/logger';
import { activityFailures, activityObservability, registerActivityMetrics } from '../../src/observability/activity-metrics';
import { createScrapeCollector } from '../../src/observability/metrics';
import { otelWorkerInterceptors, OtelUnavailableError } from '../../src/observability/otel';
import { Rail } from '../../src/shared/status';
import { freshDb } from '../helpers/db';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return {
    lines,
    logger: createLogger({ level: 'trace', name: 'test', destination }),
    parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const SECRETS = {
  ADMIN_TOKEN: 'admin-secret-7f3a9c1e',
  ADMIN_READONLY_TOKEN: 'readonly-secret-2b8d4e6f',
  STRIPE_SECRET_KEY: 'sk_test_secret_9d2f1a7c',
  STRIPE_WEBHOOK_SECRET: 'whsec_secret_4c6e8a0b',
  EVM_PRIVATE_KEY: `0x${'ab'.repeat(32)}`,
  TREASURY_KEYPAIR: '[11,22,33,44,55,66,77,88]',
  TEMPORAL_API_KEY: 'temporal-api-secret-5e7f',
  DATABASE_URL: 'postgresql://app:db-password-3a1c@db.internal:5432/settlement',
};

describe('logs', () => {
  it('inside an activity every line carries purchaseId, workflowId, runId and the activity type', async () => {
    const { logger, parsed } = capture();
    const env = new MockActivityEnvironment({
      activityType: 'settleOnChain',
      workflowExecution: { workflowId: 'purchase-pur_0123456789abcdef', runId: 'run-42' },
    });
    await env.run(async () => logger.child({ rail: 'solana' }).info({ txId: 'sig' }, 'settled on chain'));
    logger.info('outside any activity');
    const [inside, outside] = parsed();
    expect(inside).toMatchObject({
      purchaseId: 'pur_0123456789abcdef',
      workflowId: 'purchase-pur_0123456789abcdef',
      runId: 'run-42',
      activityType: 'settleOnChain',
      rail: 'solana',
      msg: 'settled on chain',
    });
    expect(outside).not.toHaveProperty('workflowId');
  });

  it('never writes a secret: config, request headers, keys and activity failures are redacted', async () => {
    const { logger, lines } = capture();
    const config = loadConfig({ ...SECRETS, NODE_ENV: 'test' });
    logger.info({ config }, 'config loaded');
    logger.info(
      {
        req: {
          method: 'POST',
          url: '/admin/x',
          headers: { authorization: `Bearer ${SECRETS.ADMIN_TOKEN}`, 'stripe-signature': `t=1,v1=${SECRETS.STRIPE_WEBHOOK_SECRET}` },
        },
      },
      'request',
    );
    logger.info({ headers: { authorization: `Bearer ${SECRETS.ADMIN_READONLY_TOKEN}` } }, 'outbound call');
    logger.info(
      { treasury: { secretKey: SECRETS.TREASURY_KEYPAIR }, settlerKey: SECRETS.EVM_PRIVATE_KEY, privateKey: SECRETS.EVM_PRIVATE_KEY },
      'keys',
    );
    logger.child({ STRIPE_SECRET_KEY: SECRETS.STRIPE_SECRET_KEY, TEMPORAL_API_KEY: SECRETS.TEMPORAL_API_KEY }).warn('child bindings');

    // The activity interceptor's failure line, inside an activity context.
    const env = new MockActivityEnvironment({
      activityType: 'captureStripeFee',
      workflowExecution: { workflowId: 'purchase-pur_feedfacefeedface', runId: 'r' },
    });
    const inbound = activityObservability(logger)({ info: env.context.info, metricMeter: env.context.metricMeter } as never).inbound;
    await expect(
      env.run(() =>
        inbound!.execute!({ args: [], headers: {} }, () =>
          Promise.reject(ApplicationFailure.create({ type: 'rpc_unavailable', message: 'down' })),
        ),
      ),
    ).rejects.toThrow('down');

    const out = lines.join('\n');
    expect(lines.length).toBeGreaterThanOrEqual(6);
    for (const [name, value] of Object.entries(SECRETS)) {
      expect({ name, leaked: out.includes(value) }).toEqual({ name, leaked: false });
    }
    expect(out).toContain('[redacted]');
    expect(out).toMatch(
      /"errorType":"rpc_unavailable".*"purchaseId":"pur_feedfacefeedface"|"purchaseId":"pur_feedfacefeedface".*"errorType":"rpc_unavailable"/,
    );
  });
});

describe('metrics', () => {
  it('counts failed activity attempts by activity and type, in the API registry', async () => {
    const metrics = createMetrics();
    registerActivityMetrics(metrics.registry);
    registerActivityMetrics(metrics.registry); // idempotent
    const before =
      (await activityFailures.get()).values.find((v) => v.labels.activity === 'settleOnChain' && v.labels.type === 'blockhash_expired')
        ?.value ?? 0;
    const env = new MockActivityEnvironment({ activityType: 'settleOnChain' });
    const inbound = activityObservability()({ info: env.context.info, metricMeter: env.context.metricMeter } as never).inbound;
    await expect(
      env.run(() =>
        inbound!.execute!({ args: [], headers: {} }, () =>
          Promise.reject(ApplicationFailure.create({ type: 'blockhash_expired', message: 'x' })),
        ),
      ),
    ).rejects.toThrow();
    const text = await metrics.registry.metrics();
    expect(text).toContain(`settlement_activity_failures_total{activity="settleOnChain",type="blockhash_expired"} ${before + 1}`);
  });

  it('the scrape collector observes newly settled purchases once and sets treasury gauges', async () => {
    const { db } = await freshDb();
    try {
      const metrics = createMetrics();
      let now = new Date();
      const collect = createScrapeCollector(db, metrics, { warningBalanceCents: 200_000n, runwayWarningDays: 7 }, () => now);
      await recordTreasuryFunding(db, { rail: Rail.Solana, amountMicro: 5_000_000_000n, reference: 'obs-test', source: 'bootstrap' });
      const product = await db.product.create({
        data: { id: 'prod_obs', title: 't', priceCents: 2500n, currency: 'usd', rail: 'solana', nftSymbol: 'R', nftUri: '' },
      });
      const createdAt = new Date(Date.now() - 42_000);
      await db.purchase.create({
        data: {
          id: 'pur_obs_settled',
          productId: product.id,
          buyerWallet: 'w',
          rail: 'solana',
          status: 'settled',
          createdAt,
          creatorPoolMicroUsdc: 1_000_000n,
        },
      });
      now = new Date(Date.now() + 1000);
      await collect();
      await collect(); // the same purchase is not observed twice
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/settlement_latency_seconds_count 1\b/);
      expect(text).toMatch(/settlement_latency_seconds_bucket\{le="60"\} 1\b/);
      expect(text).toContain('settlement_treasury_balance_micro_usdc{rail="solana"} 5000000000');
      expect(text).toContain('settlement_treasury_available_micro_usdc{rail="solana"} 5000000000');
      expect(text).toContain('settlement_purchases{status="settled"} 1');
      expect(text).toMatch(/settlement_treasury_runway_days \d+/);
    } finally {
      await db.$disconnect();
    }
  });
});

describe('tracing', () => {
  it('is off by default and, when enabled without the package, names the packages to add', () => {
    expect(otelWorkerInterceptors(false)).toBeUndefined();
    const missing = () =>
      otelWorkerInterceptors(true, () => {
        throw new Error('Cannot find module');
      });
    expect(missing).toThrow(OtelUnavailableError);
    expect(missing).toThrow(
      /npm install @temporalio\/interceptors-opentelemetry @opentelemetry\/sdk-node @opentelemetry\/exporter-trace-otlp-http/,
    );
  });
});
