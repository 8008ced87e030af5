/**
 * A real Temporal dev server per test file (the CLI installed by `npm run setup`, through
 * @temporalio/testing), with the search attributes registered and the workflow bundle built once.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import path from 'node:path';
import { resolveTool } from '../../src/dev/tools';
import { SEARCH_ATTRIBUTE_KEYS } from '../../src/shared/search-attributes';

let runtimeInstalled = false;

export async function startTemporal(): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) {
    runtimeInstalled = true;
    // Worker lifecycle lines drown test output; keep warnings and errors.
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // a runtime already exists in this process; keep it
    }
  }
  const cli = resolveTool('temporal', process.env.TEMPORAL_CLI_PATH, process.env.PATH ?? '');
  return TestWorkflowEnvironment.createLocal({
    server: {
      ...(cli ? { executable: { type: 'existing-path', path: cli } } : {}),
      searchAttributes: SEARCH_ATTRIBUTE_KEYS,
    },
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Bundling takes seconds; share one bundle across the file's workers. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: path.resolve(__dirname, '../../src/workflows'), logger: { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} } as never });
  return bundle;
}
