/**
 * The workflow bundles `npm run build` (scripts/build.ts) writes next to the compiled worker, so a
 * worker started from dist/ loads its workflow code instead of bundling src/workflows on every
 * start. A worker run from source (tsx, tests) finds none here and bundles as before.
 */
import fs from 'node:fs';
import path from 'node:path';

/** One bundle without workflow interceptors, one with OpenTelemetry's (OTEL_ENABLED). */
export const WORKFLOW_BUNDLE_FILES = { plain: 'workflow-bundle.js', otel: 'workflow-bundle-otel.js' } as const;

/** The prebuilt bundle for this configuration, or undefined when there is none beside `dir`. */
export function prebuiltWorkflowBundle(otelEnabled: boolean, dir: string = __dirname): { codePath: string } | undefined {
  const codePath = path.join(dir, otelEnabled ? WORKFLOW_BUNDLE_FILES.otel : WORKFLOW_BUNDLE_FILES.plain);
  return fs.existsSync(codePath) ? { codePath } : undefined;
}
