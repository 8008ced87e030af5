/**
 * Optional OpenTelemetry tracing for the worker through @temporalio/interceptors-opentelemetry,
 * off unless OTEL_ENABLED. The package is not a dependency yet: enabling tracing without it stops
 * the boot with the exact packages to add.
 */
import type { Context } from '@temporalio/activity';
import type { ActivityInboundCallsInterceptor, ActivityOutboundCallsInterceptor, WorkerInterceptors } from '@temporalio/worker';

const OTEL_PACKAGES = [
  '@temporalio/interceptors-opentelemetry',
  '@opentelemetry/sdk-node',
  '@opentelemetry/exporter-trace-otlp-http',
] as const;

export class OtelUnavailableError extends Error {
  constructor(missing: string) {
    super(`OTEL_ENABLED=true but ${missing} is not installed; add it with: npm install ${OTEL_PACKAGES.join(' ')}`);
    this.name = 'OtelUnavailableError';
  }
}

type OtelModule = {
  makeWorkflowExporter?: unknown;
  OpenTelemetryActivityInboundInterceptor: new (ctx: Context) => ActivityInboundCallsInterceptor;
  OpenTelemetryActivityOutboundInterceptor?: new (ctx: Context) => ActivityOutboundCallsInterceptor;
};

/**
 * Worker interceptors for tracing, or undefined when OTEL_ENABLED is off. Workflow spans need the
 * package's workflow interceptor module in the bundle: pass `workflowModules` to bundleWorkflowCode.
 */
export function otelWorkerInterceptors(
  enabled: boolean,
  load: (name: string) => unknown = require,
): { interceptors: WorkerInterceptors; workflowModules: string[] } | undefined {
  if (!enabled) return undefined;
  let mod: OtelModule;
  try {
    mod = load(OTEL_PACKAGES[0]) as OtelModule;
  } catch {
    throw new OtelUnavailableError(OTEL_PACKAGES[0]);
  }
  return {
    interceptors: {
      activity: [
        (ctx) => ({
          inbound: new mod.OpenTelemetryActivityInboundInterceptor(ctx),
          ...(mod.OpenTelemetryActivityOutboundInterceptor ? { outbound: new mod.OpenTelemetryActivityOutboundInterceptor(ctx) } : {}),
        }),
      ],
    },
    workflowModules: [require.resolve(`${OTEL_PACKAGES[0]}/lib/workflow`, { paths: [process.cwd()] })],
  };
}
