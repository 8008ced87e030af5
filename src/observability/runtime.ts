/**
 * The Temporal Runtime for the worker process: Core SDK metrics on a Prometheus endpoint
 * (WORKER_METRICS_PORT, 0 = off) and SDK/workflow logs forwarded into pino with the run's ids.
 * Install once, before the first NativeConnection.
 */
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { purchaseIdFromWorkflowId } from '../shared/ids';

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

export function installWorkerRuntime(
  config: Pick<Config, 'WORKER_METRICS_HOST' | 'WORKER_METRICS_PORT' | 'LOG_LEVEL'>,
  logger: Logger,
): { metricsUrl?: string } {
  const level: LogLevel = config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'trace' ? 'DEBUG' : 'INFO';
  const bindAddress = config.WORKER_METRICS_PORT > 0 ? `${config.WORKER_METRICS_HOST}:${config.WORKER_METRICS_PORT}` : undefined;
  const options = {
    logger: new DefaultLogger(level, (entry) => {
      const meta = (entry.meta ?? {}) as Record<string, unknown>;
      const workflowId = typeof meta.workflowId === 'string' ? meta.workflowId : undefined;
      const purchaseId = workflowId ? purchaseIdFromWorkflowId(workflowId) : undefined;
      logger[PINO_LEVEL[entry.level]]({ ...meta, ...(purchaseId ? { purchaseId } : {}), sdk: 'temporal' }, entry.message);
    }),
  };
  if (!bindAddress) {
    Runtime.install(options);
    return {};
  }
  try {
    Runtime.install({ ...options, telemetryOptions: { metrics: { prometheus: { bindAddress } } } });
  } catch (err) {
    // A busy port (another local stack) must not stop the worker: run it without the SDK metrics endpoint.
    logger.warn(
      { bindAddress, err: err instanceof Error ? err.message : String(err) },
      'worker metrics endpoint unavailable; set WORKER_METRICS_PORT to a free port (0 = off)',
    );
    Runtime.install(options);
    return {};
  }
  return { metricsUrl: bindAddress ? `http://${bindAddress}/metrics` : undefined };
}
