import pino, { type Logger } from 'pino';
import { logContext } from './observability/log-context';

/** Keys whose values never reach a log line, wherever they appear. */
const REDACTED_PATHS = [
  'config.ADMIN_TOKEN',
  'config.ADMIN_READONLY_TOKEN',
  'config.STRIPE_SECRET_KEY',
  'config.STRIPE_WEBHOOK_SECRET',
  'config.TREASURY_KEYPAIR',
  'config.EVM_PRIVATE_KEY',
  'config.TEMPORAL_API_KEY',
  'config.DATABASE_URL',
  'config.databaseUrl',
  'ADMIN_TOKEN',
  'ADMIN_READONLY_TOKEN',
  'STRIPE_SECRET_KEY',
  'STRIPE_WEBHOOK_SECRET',
  'TREASURY_KEYPAIR',
  'EVM_PRIVATE_KEY',
  'TEMPORAL_API_KEY',
  'secretKey',
  'privateKey',
  'settlerKey',
  'treasury.secretKey',
  'req.headers.authorization',
  'req.headers["stripe-signature"]',
  'headers.authorization',
  'authorization',
];

export function createLogger(opts: { level: string; name: string; destination?: pino.DestinationStream }): Logger {
  // Inside an activity every line carries workflowId, runId and purchaseId; inside an HTTP request,
  // its requestId (src/observability/log-context.ts).
  return pino(
    { name: opts.name, level: opts.level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, mixin: logContext },
    opts.destination,
  );
}
