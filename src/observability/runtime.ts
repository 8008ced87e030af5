/**
 * The Temporal Runtime for the worker process: Core SDK metrics on a Prometheus endpoint
 * (WORKER_METRICS_PORT, 0 = off) and SDK/workflow logs forwarded into pino with the run's ids.
 * Install once, before the first NativeConnection.
 */
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { purchaseIdFromWorkflowId } from '../shared/ids';

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

export function installWorkerRuntime(config: Pick<Config, 'WORKER_METRICS_HOST' | 'WORKER_METRICS_PORT' | 'LOG_LEVEL'>, logger: Logger): { metricsUrl?: string } {
  const level: LogLevel = config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'trace' ? 'DEBUG' : 'INFO';
  const bindAddress = config.WORKER_METRICS_PORT > 0 ? `${config.WORKER_METRICS_HOST}:${config.WORKER_METRICS_PORT}` : undefined;
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      const meta = (entry.meta ?? {}) as Record<string, unknown>;
      const workflowId = typeof meta.workflowId === 'string' ? meta.workflowId : undefined;
      const purchaseId = workflowId ? purchaseIdFromWorkflowId(workflowId) : undefined;
      logger[PINO_LEVEL[entry.level]]({ ...meta, ...(purchaseId ? { purchaseId } : {}), sdk: 'temporal' }, entry.message);
    }),
    ...(bindAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress } } } } : {}),
  });
  return { metricsUrl: bindAddress ? `http://${bindAddress}/metrics` : undefined };
}
