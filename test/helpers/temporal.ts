/**
 * A real Temporal dev server per test file (the CLI installed by `npm run setup`, through
 * @temporalio/testing), with the search attributes registered and the workflow bundle built once;
 * or the time-skipping test server, for the branches that wait on long timers.
 */
import { SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import fs from 'node:fs';
import path from 'node:path';
import { resolveTool, temporalDevServerArgs } from '../../dev/tools';
import { SEARCH_ATTRIBUTE_KEYS } from '../../src/shared/search-attributes';

const { IndexedValueType } = temporal.api.enums.v1;

let runtimeInstalled = false;

function installQuietRuntime(): void {
  if (!runtimeInstalled) {
    runtimeInstalled = true;
    // Worker lifecycle lines drown test output; keep warnings and errors.
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // a runtime already exists in this process; keep it
    }
  }
}

export async function startTemporal(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  const cli = resolveTool('temporal', process.env.TEMPORAL_CLI_PATH, process.env.PATH ?? '');
  return TestWorkflowEnvironment.createLocal({
    server: {
      ...(cli ? { executable: { type: 'existing-path', path: cli } } : {}),
      searchAttributes: SEARCH_ATTRIBUTE_KEYS,
      extraArgs: temporalDevServerArgs(),
    },
  });
}

/**
 * Temporal's time-skipping test server: timers and retry back-offs pass instantly whenever the test
 * waits on a result (`env.client.workflow`'s handles) or calls `env.sleep`. The server is the Java
 * build that `npm run setup` fetches from Maven Central (TEMPORAL_TEST_SERVER_PATH overrides it);
 * without it @temporalio/testing downloads its own, which needs the internet.
 */
export async function startTimeSkipping(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  const local = path.resolve(__dirname, '../../.tools/bin/temporal-test-server');
  const server = process.env.TEMPORAL_TEST_SERVER_PATH ?? (fs.existsSync(local) ? local : undefined);
  const env = await withStartRetries(() =>
    TestWorkflowEnvironment.createTimeSkipping({
      server: server ? { executable: { type: 'existing-path', path: server } } : {},
    }),
  );
  // The test server takes no search-attribute flags; it registers them through the operator service.
  const indexed = (type: SearchAttributeType) =>
    type === SearchAttributeType.INT ? IndexedValueType.INDEXED_VALUE_TYPE_INT : IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTE_KEYS.map((k) => [k.name, indexed(k.type)])),
  });
  return env;
}

/**
 * The SDK gives the test server's JVM a fixed 5 s to start listening, which a loaded 2-core machine
 * can exceed; a later attempt usually finds the JVM's files in the page cache. A failure for any
 * other reason is thrown at once.
 */
async function withStartRetries<T>(start: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      const slowStart = err instanceof Error && /did not start within/.test(err.message);
      if (!slowStart || attempt >= attempts) throw err;
      console.warn(`time-skipping test server did not start in time (attempt ${attempt} of ${attempts}); starting it again`);
    }
  }
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Bundling takes seconds; share one bundle across the file's workers. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: path.resolve(__dirname, '../../src/workflows'),
    logger: { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} } as never,
  });
  return bundle;
}
