import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Metrics = ReturnType<typeof createMetrics>;

/** Prometheus metrics served at /metrics. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    webhooks: new Counter({ name: 'settlement_webhooks_total', help: 'Stripe webhooks by event type and result', labelNames: ['type', 'result'], registers: [registry] }),
    purchases: new Gauge({ name: 'settlement_purchases', help: 'Purchases by status', labelNames: ['status'], registers: [registry] }),
    settlementLatency: new Histogram({
      name: 'settlement_latency_seconds',
      help: 'From purchase creation to settled, for purchases settled since the last scrape window',
      buckets: [1, 2, 5, 10, 30, 60, 300, 900, 3600],
      registers: [registry],
    }),
    treasuryBalance: new Gauge({ name: 'settlement_treasury_balance_micro_usdc', help: 'Ledger treasury balance (micro-USDC)', labelNames: ['rail'], registers: [registry] }),
    treasuryAvailable: new Gauge({ name: 'settlement_treasury_available_micro_usdc', help: 'Treasury balance minus open holds (micro-USDC)', labelNames: ['rail'], registers: [registry] }),
    runwayDays: new Gauge({ name: 'settlement_treasury_runway_days', help: 'Runway from the last reconciliation', registers: [registry] }),
  };
}
