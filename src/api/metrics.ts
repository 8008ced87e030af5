import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * The event-loop delay is sampled by a timer of this period (prom-client's
 * `eventLoopMonitoringPrecision`); each `nodejs_eventloop_lag_*` value is that period plus the lag,
 * so an idle loop reads about this much, not 0.
 */
export const EVENT_LOOP_SAMPLE_MS = 10;

/** Prometheus metrics served at /metrics. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  return {
    registry,
    webhooks: new Counter({
      name: 'settlement_webhooks_total',
      help: 'Stripe webhooks by event type and result',
      labelNames: ['type', 'result'],
      registers: [registry],
    }),
    statusReads: new Counter({
      name: 'settlement_status_reads_total',
      help: 'Purchase status reads by where the answer came from (memory: the status cache; database)',
      labelNames: ['source'],
      registers: [registry],
    }),
    purchases: new Gauge({ name: 'settlement_purchases', help: 'Purchases by status', labelNames: ['status'], registers: [registry] }),
    settlementLatency: new Histogram({
      name: 'settlement_latency_seconds',
      help: 'From purchase creation to settled, for purchases settled since the last scrape window',
      buckets: [1, 2, 5, 10, 30, 60, 300, 900, 3600],
      registers: [registry],
    }),
    treasuryBalance: new Gauge({
      name: 'settlement_treasury_balance_micro_usdc',
      help: 'Ledger treasury balance (micro-USDC)',
      labelNames: ['rail'],
      registers: [registry],
    }),
    treasuryAvailable: new Gauge({
      name: 'settlement_treasury_available_micro_usdc',
      help: 'Treasury balance minus open holds (micro-USDC)',
      labelNames: ['rail'],
      registers: [registry],
    }),
    runwayDays: new Gauge({ name: 'settlement_treasury_runway_days', help: 'Runway from the last reconciliation', registers: [registry] }),
    // The engine health checks (the engine-health-check schedule alerts on the same figures).
    successRatio: new Gauge({
      name: 'settlement_success_ratio',
      help: 'Settled / (settled + failed) over HEALTH_WINDOW; absent when nothing ended in it',
      registers: [registry],
    }),
    windowOutcomes: new Gauge({
      name: 'settlement_window_outcomes',
      help: 'Purchases that ended in HEALTH_WINDOW, by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    pendingPurchases: new Gauge({
      name: 'settlement_pending_purchases',
      help: 'Purchases paid and not settled yet (awaiting approval excluded)',
      registers: [registry],
    }),
    pendingOverAge: new Gauge({
      name: 'settlement_pending_over_age_purchases',
      help: 'Pending purchases in their status longer than HEALTH_PENDING_MAX_AGE',
      registers: [registry],
    }),
    oldestPendingSeconds: new Gauge({
      name: 'settlement_oldest_pending_seconds',
      help: 'How long the longest-waiting pending purchase has been in its status (0 when none)',
      registers: [registry],
    }),
    healthAlertFiring: new Gauge({
      name: 'settlement_health_alert_firing',
      help: '1 while a health check alert is firing',
      labelNames: ['check'],
      registers: [registry],
    }),
  };
}
