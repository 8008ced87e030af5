/**
 * `npm run build`: src/ compiled by tsc to dist/ (entry points dist/server.js, dist/worker.js,
 * dist/ops/cli.js), the generated Prisma client to dist/generated/, and the workflows bundled once
 * into dist/workflow-bundle.js (and dist/workflow-bundle-otel.js with OpenTelemetry's workflow
 * interceptors), which the compiled worker loads instead of bundling at every start.
 *
 * tsc builds the Prisma client as a referenced project (tsconfig.generated.json), so src keeps its
 * import of `../../generated/prisma/client`; that one path is re-pointed at dist/generated in the
 * emitted JavaScript, because dist/ sits one level closer to the compiled client than src/ does to
 * its source. Incremental: tsc rebuilds what changed, and outputs of deleted sources are removed.
 *
 * A type error fails the build. `--allow-type-errors` (what npm start's set-up passes) reports the
 * errors and keeps tsc's output, as running from source under tsx did; `npm test` still fails on them.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { otelWorkerInterceptors, OtelUnavailableError } from '../src/observability/otel';
import { WORKFLOW_BUNDLE_FILES } from '../src/prebuilt-workflows';

const root = path.resolve(__dirname, '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');
const generated = path.join(root, 'generated');
const distGenerated = path.join(dist, 'generated');
const started = Date.now();
const allowTypeErrors = process.argv.includes('--allow-type-errors');
const log = (msg: string) => process.stdout.write(`[build +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);

function filesUnder(dir: string, keep: (file: string) => boolean = () => true): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .filter(keep);
}

function compile(): void {
  if (!fs.existsSync(path.join(generated, 'prisma', 'client.ts'))) throw new Error('generated/prisma is missing: run `npm run setup` (prisma generate) first');
  log('tsc -b tsconfig.build.json');
  const res = spawnSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-b', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (res.status === 0) return;
  if (!allowTypeErrors || res.status === null) throw new Error(`tsc failed with exit code ${res.status ?? res.signal}`);
  log('warning: type errors above (npm run typecheck); dist/ holds what tsc emitted anyway');
}

/** dist/<x>.js (and its map) whose src/<x>.ts no longer exists. */
function pruneOrphans(): void {
  const bundles = new Set<string>(Object.values(WORKFLOW_BUNDLE_FILES).map((f) => path.join(dist, f)));
  for (const file of filesUnder(dist, (f) => f.endsWith('.js') && !f.startsWith(distGenerated + path.sep) && !bundles.has(f))) {
    const rel = path.relative(dist, file).replace(/\.js$/, '');
    if (fs.existsSync(path.join(src, `${rel}.ts`)) || fs.existsSync(path.join(src, `${rel}.js`))) continue;
    fs.rmSync(file);
    fs.rmSync(`${file}.map`, { force: true });
    log(`removed ${path.relative(root, file)} (its source is gone)`);
  }
}

/** require("…/generated/…") in dist/**.js resolves, as in src, to generated/: point it at dist/generated. */
function repointGeneratedImports(): void {
  let rewritten = 0;
  for (const file of filesUnder(dist, (f) => f.endsWith('.js') && !f.startsWith(distGenerated + path.sep))) {
    const sourceDir = path.join(src, path.relative(dist, path.dirname(file)));
    const code = fs.readFileSync(file, 'utf8');
    const next = code.replace(/require\("(\.{1,2}\/[^"]*)"\)/g, (whole, spec: string) => {
      const target = path.resolve(sourceDir, spec);
      if (!target.startsWith(generated + path.sep)) return whole;
      let rel = path.relative(path.dirname(file), path.join(distGenerated, path.relative(generated, target)));
      if (!rel.startsWith('.')) rel = `./${rel}`;
      return `require("${rel}")`;
    });
    if (next === code) continue;
    fs.writeFileSync(file, next);
    rewritten += 1;
  }
  if (rewritten > 0) log(`pointed ${rewritten} file(s) at dist/generated`);
}

/** Files under src/ that tsc does not emit (the admin page's script). */
function copyAssets(): void {
  for (const file of filesUnder(src, (f) => !f.endsWith('.ts'))) {
    const target = path.join(dist, path.relative(src, file));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(file, target);
  }
}

async function bundleWorkflows(): Promise<void> {
  const quiet = { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} };
  const workflowsPath = path.join(dist, 'workflows');
  let otelModules: string[] | undefined;
  try {
    otelModules = otelWorkerInterceptors(true)?.workflowModules;
  } catch (err) {
    if (!(err instanceof OtelUnavailableError)) throw err;
    log(`no OpenTelemetry bundle: ${err.message}; with OTEL_ENABLED the worker bundles at start`);
  }
  const variants: [string, string[]][] = [[WORKFLOW_BUNDLE_FILES.plain, []]];
  if (otelModules) variants.push([WORKFLOW_BUNDLE_FILES.otel, otelModules]);
  for (const [file, workflowInterceptorModules] of variants) {
    const { code } = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules, logger: quiet });
    fs.writeFileSync(path.join(dist, file), code);
    log(`bundled the workflows into dist/${file} (${(code.length / 1024).toFixed(0)} KiB)`);
  }
}

async function main(): Promise<void> {
  compile();
  pruneOrphans();
  repointGeneratedImports();
  copyAssets();
  await bundleWorkflows();
  log('dist/ is ready: node dist/server.js, node dist/worker.js, node dist/ops/cli.js');
}

main().catch((err: unknown) => {
  process.stderr.write(`[build] ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
