import type { Logger } from 'pino';
import { listUndeliveredAlerts, markAlertDelivered, markAlertDeliveryFailed, queueAlerts } from '../db/alerts';
import type { Db } from '../db/client';

export interface AlertInput {
  /** one alert per key: re-raising the same condition changes nothing */
  dedupeKey: string;
  severity: 'warning' | 'critical';
  kind: string;
  message: string;
  payload?: Record<string, string | number | boolean | null>;
}

export interface NotifyDeps {
  db: Db;
  logger: Logger;
  alertWebhookUrl?: string;
  fetchImpl?: typeof fetch;
}

export function createNotifyActivities({ db, logger, alertWebhookUrl, fetchImpl = fetch }: NotifyDeps) {
  return {
    /** Alerts go into an outbox first, so an alert is never lost to a webhook outage. */
    async raiseAlert(alert: AlertInput): Promise<{ created: boolean }> {
      const created = (await queueAlerts(db, [alert])) > 0;
      if (created) logger.warn({ alert: alert.kind, severity: alert.severity, dedupeKey: alert.dedupeKey }, alert.message);
      return { created };
    },

    /** Post undelivered alerts to ALERT_WEBHOOK_URL; a failed post stays in the outbox for the next run. */
    async deliverAlerts(): Promise<{ delivered: number; failed: number }> {
      if (!alertWebhookUrl) return { delivered: 0, failed: 0 };
      const pending = await listUndeliveredAlerts(db, 100);
      let delivered = 0;
      let failed = 0;
      for (const alert of pending) {
        try {
          const res = await fetchImpl(alertWebhookUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': alert.dedupeKey },
            body: JSON.stringify({
              id: alert.id,
              severity: alert.severity,
              kind: alert.kind,
              message: alert.message,
              payload: alert.payload,
              createdAt: alert.createdAt,
            }),
            signal: AbortSignal.timeout(10_000),
          });
          if (!res.ok) throw new Error(`alert webhook answered ${res.status}`);
          await markAlertDelivered(db, alert.id, new Date());
          delivered += 1;
        } catch (err) {
          failed += 1;
          await markAlertDeliveryFailed(db, alert.id, String(err));
        }
      }
      if (failed > 0) throw new Error(`${failed} alert(s) could not be delivered; they stay in the outbox`);
      return { delivered, failed };
    },
  };
}
