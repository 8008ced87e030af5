/**
 * `npm run build`: src/ compiled by tsc to dist/ (entry points dist/server.js, dist/worker.js,
 * dist/ops/cli.js), generated/ (the Prisma client, the contracts' ABIs) to dist/generated/, the dev
 * harness's child process that `npm start` and the chaos run start compiled (dev/dev-stripe) to
 * dist/dev/, and the workflows bundled once into dist/workflow-bundle.js (and
 * dist/workflow-bundle-otel.js with OpenTelemetry's workflow interceptors), which the compiled
 * worker loads instead of bundling at every start. `--production` (the Docker image) leaves out
 * dist/dev/.
 *
 * Three tsc projects, each referencing the one below: tsconfig.dev.json → tsconfig.build.json (src)
 * → tsconfig.generated.json. Sources keep their relative imports across them (`../../generated/…`
 * in src, `../../src/…` in dev); the emitted JavaScript is re-pointed at the compiled files, because
 * dist/ lays the three out differently than the repository does. Incremental: tsc rebuilds what
 * changed, and outputs of deleted sources are removed.
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
const dev = path.join(root, 'dev');
const dist = path.join(root, 'dist');
const generated = path.join(root, 'generated');
const distGenerated = path.join(dist, 'generated');
const distDev = path.join(dist, 'dev');
const started = Date.now();
const allowTypeErrors = process.argv.includes('--allow-type-errors');
const production = process.argv.includes('--production');
/** The dev folders tsconfig.dev.json compiles (its `include`). */
const devProjectDirs = (JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.dev.json'), 'utf8')) as { include: string[] }).include.map(
  (d) => path.join(root, d),
);
const log = (msg: string) => process.stdout.write(`[build +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);

function filesUnder(dir: string, keep: (file: string) => boolean = () => true): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .filter(keep);
}

const under = (dir: string, file: string) => file.startsWith(dir + path.sep);

/** dist/<x>.js → src/<x>, dist/dev/<x>.js → dev/<x>, dist/generated/<x>.js → generated/<x> (without the extension). */
function sourceOf(distFile: string): string {
  const rel = (dir: string) => path.relative(dir, distFile).replace(/(\.d\.ts|\.js)$/, '');
  if (under(distGenerated, distFile)) return path.join(generated, rel(distGenerated));
  if (under(distDev, distFile)) return path.join(dev, rel(distDev));
  return path.join(src, rel(dist));
}

/** The compiled counterpart of a source path (without extension), or undefined outside src/, dev/, generated/. */
function compiledOf(source: string): string | undefined {
  if (under(generated, source)) return path.join(distGenerated, path.relative(generated, source));
  if (under(dev, source)) return path.join(distDev, path.relative(dev, source));
  if (under(src, source)) return path.join(dist, path.relative(src, source));
  return undefined;
}

function compile(): void {
  for (const file of ['prisma/client.ts', 'evm/abi.ts']) {
    if (!fs.existsSync(path.join(generated, file)))
      throw new Error(`generated/${file} is missing: run \`npm run setup\` (prisma generate, compile-contracts) first`);
  }
  const project = production ? 'tsconfig.build.json' : 'tsconfig.dev.json';
  log(`tsc -b ${project}`);
  const res = spawnSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-b', project], { cwd: root, stdio: 'inherit' });
  if (res.status === 0) return;
  if (!allowTypeErrors || res.status === null) throw new Error(`tsc failed with exit code ${res.status ?? res.signal}`);
  log('warning: type errors above (npm run typecheck); dist/ holds what tsc emitted anyway');
}

/**
 * dist/<x>.js or .d.ts (and its map) whose source no longer exists, or no longer belongs to a
 * compiled project: all of dist/dev/ in a --production build, dist/dev/<dir> outside tsconfig.dev.json.
 */
function pruneOrphans(): void {
  const bundles = new Set<string>(Object.values(WORKFLOW_BUNDLE_FILES).map((f) => path.join(dist, f)));
  for (const file of filesUnder(dist, (f) => (f.endsWith('.js') || f.endsWith('.d.ts')) && !under(distGenerated, f) && !bundles.has(f))) {
    const source = sourceOf(file);
    const compiled = under(dev, source) ? !production && devProjectDirs.some((d) => under(d, source)) : true;
    if (compiled && (fs.existsSync(`${source}.ts`) || fs.existsSync(`${source}.js`))) continue;
    fs.rmSync(file);
    fs.rmSync(`${file}.map`, { force: true });
    log(`removed ${path.relative(root, file)} (${compiled ? 'its source is gone' : 'not compiled by this build'})`);
  }
}

/**
 * Relative require()s in dist/**.js name the source layout (`../../generated/prisma/client` from
 * src/, `../../src/config` from dev/); point them at the compiled files.
 */
function repointImports(): void {
  let rewritten = 0;
  for (const file of filesUnder(dist, (f) => f.endsWith('.js') && !under(distGenerated, f))) {
    const sourceDir = path.dirname(sourceOf(file));
    const code = fs.readFileSync(file, 'utf8');
    const next = code.replace(/require\("(\.{1,2}\/[^"]*)"\)/g, (whole, spec: string) => {
      const compiled = compiledOf(path.resolve(sourceDir, spec));
      if (compiled === undefined) return whole;
      let rel = path.relative(path.dirname(file), compiled);
      if (!rel.startsWith('.')) rel = `./${rel}`;
      return rel === spec ? whole : `require("${rel}")`;
    });
    if (next === code) continue;
    fs.writeFileSync(file, next);
    rewritten += 1;
  }
  if (rewritten > 0) log(`pointed ${rewritten} file(s) at the compiled layout`);
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
  repointImports();
  copyAssets();
  await bundleWorkflows();
  log('dist/ is ready: node dist/server.js, node dist/worker.js, node dist/ops/cli.js');
}

main().catch((err: unknown) => {
  process.stderr.write(`[build] ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
