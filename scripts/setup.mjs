#!/usr/bin/env node
// Idempotent set-up shared by `npm start` and `npm test`: does only what is missing and says what it
// does. It runs before dependencies exist, so it uses Node builtins only and reads the few settings
// it needs (tool path overrides) straight from the environment.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, accessSync, constants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const toolsDir = path.join(root, '.tools');
const goBin = path.join(toolsDir, 'bin');
const started = Date.now();

const GO_TOOLS = [
  {
    name: 'temporal',
    module: 'github.com/temporalio/cli/cmd/temporal@v1.5.1',
    override: 'TEMPORAL_CLI_PATH',
    note: 'a cold build takes about 4 minutes on 2 cores',
  },
  { name: 'stripe-mock', module: 'github.com/stripe/stripe-mock@v0.197.0', override: 'STRIPE_MOCK_PATH', note: 'about 30 seconds' },
  // The bench's load generator (constant-rate, open loop), installed only for `npm run bench`.
  { name: 'vegeta', module: 'github.com/tsenart/vegeta/v12@v12.13.0', override: 'VEGETA_PATH', note: 'about a minute', benchOnly: true },
];
/** `setup.mjs --bench`: also what only `npm run bench` uses. */
const forBench = process.argv.includes('--bench');

function log(msg) {
  process.stdout.write(`[setup +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (res.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed with exit code ${res.status ?? res.signal}`);
  }
}

function hashFiles(files) {
  const h = createHash('sha256');
  for (const f of files) h.update(existsSync(f) ? readFileSync(f) : Buffer.from('missing'));
  return h.digest('hex');
}

/** Re-run `step` only when the hash of its inputs changed since the last success. */
function stamped(name, inputs, outputsExist, step) {
  mkdirSync(toolsDir, { recursive: true });
  const stampFile = path.join(toolsDir, `${name}.stamp`);
  const digest = hashFiles(inputs);
  if (outputsExist() && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === digest) return;
  step();
  writeFileSync(stampFile, digest);
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function npmDependencies() {
  stamped(
    'npm',
    [path.join(root, 'package-lock.json'), path.join(root, 'package.json')],
    () => existsSync(path.join(root, 'node_modules')),
    () => {
      // `npm ci`: exactly the lock file, which it never rewrites, so a run leaves git status clean. The
      // lock lists every platform's optional binaries; regenerate it with `npm run lock` after a change
      // to package.json (`npm install` in a tree with node_modules drops other platforms' entries).
      log('installing npm packages with npm ci from package-lock.json — a cold install takes a minute or two');
      run('npm', ['ci', '--no-audit', '--no-fund']);
    },
  );
}

function goTools() {
  for (const tool of GO_TOOLS) {
    if (tool.benchOnly && !forBench) continue;
    const override = process.env[tool.override];
    if (override) {
      if (!existsSync(override)) throw new Error(`${tool.override}=${override} does not exist`);
      continue;
    }
    if (existsSync(path.join(goBin, tool.name))) continue;
    if (onPath(tool.name)) {
      log(`${tool.name}: using ${onPath(tool.name)} from PATH`);
      continue;
    }
    if (!onPath('go')) {
      if (tool.name === 'temporal') {
        log('temporal: Go is not installed; @temporalio/testing will download the dev server where the internet is reachable');
        continue;
      }
      throw new Error(`${tool.name} is missing and Go is not installed: install Go 1.25+ or set ${tool.override}`);
    }
    log(`${tool.name}: go install ${tool.module} (${tool.note})`);
    run('go', ['install', tool.module], { env: { ...process.env, GOBIN: goBin, GOFLAGS: '-mod=mod' } });
  }
}

function prismaClient() {
  const schema = path.join(root, 'prisma', 'schema.prisma');
  stamped(
    'prisma',
    [schema, path.join(root, 'package-lock.json')],
    () => existsSync(path.join(root, 'generated/prisma/client.ts')),
    () => {
      log('generating the Prisma client');
      // `generate` needs no engine, but the CLI insists one exists: point it at any file.
      run(path.join(root, 'node_modules/.bin/prisma'), ['generate'], {
        env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: schema, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
      });
    },
  );
}

/**
 * dist/ (`npm run build`, scripts/build.ts): the compiled API, worker and ops CLI plus the prebuilt
 * workflow bundles, and the dev harness's child processes under dist/dev/, that `npm start` runs.
 * Rebuilt when any source, tsconfig, generated file, the schema or the lock file changed; needs the
 * Prisma client and the contracts' ABIs, so it runs after prismaClient() and contracts().
 */
function compiledBuild() {
  const sources = execFileSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', 'src', 'dev/dev-stripe', 'scripts/build.ts'],
    { cwd: root, encoding: 'utf8' },
  )
    .split('\n')
    .filter(Boolean)
    .sort()
    .map((f) => path.join(root, f));
  const configs = [
    'tsconfig.json',
    'tsconfig.build.json',
    'tsconfig.generated.json',
    'tsconfig.dev.json',
    'package-lock.json',
    'prisma/schema.prisma',
    'generated/evm/abi.ts',
  ].map((f) => path.join(root, f));
  const outputs = [
    'dist/server.js',
    'dist/worker.js',
    'dist/stripe-event-actor.js',
    'dist/ops/cli.js',
    'dist/workflow-bundle.js',
    'dist/dev/dev-stripe/main.js',
  ].map((f) => path.join(root, f));
  stamped(
    'dist',
    [...sources, ...configs],
    () => outputs.every((f) => existsSync(f)),
    () => {
      log('building dist/ (tsc + workflow bundles) — about a minute on 2 cores');
      run(path.join(root, 'node_modules/.bin/tsx'), [path.join(root, 'scripts/build.ts'), '--allow-type-errors']);
    },
  );
}

function contracts() {
  const script = path.join(root, 'scripts/compile-contracts.ts');
  if (!existsSync(script)) return;
  const sources = execFileSync('git', ['ls-files', 'contracts'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f.endsWith('.sol'))
    .map((f) => path.join(root, f));
  stamped(
    'contracts',
    [...sources, script],
    () => existsSync(path.join(root, 'contracts/out')) && existsSync(path.join(root, 'generated/evm/abi.ts')),
    () => {
      log('compiling Solidity contracts with solc (npm)');
      run(path.join(root, 'node_modules/.bin/tsx'), [script]);
    },
  );
}

/**
 * schemathesis (PyPI) for the OpenAPI fuzz test (test/e2e/openapi-fuzz.test.ts), in a venv under
 * .tools so the system Python is left alone. A failure is a warning: that one test then fails saying so.
 */
const SCHEMATHESIS_VERSION = '4.32.5';

function schemathesis() {
  const venv = path.join(toolsDir, 'schemathesis');
  const bin = path.join(venv, 'bin', 'schemathesis');
  const stamp = path.join(venv, 'version');
  if (existsSync(bin) && existsSync(stamp) && readFileSync(stamp, 'utf8') === SCHEMATHESIS_VERSION) return;
  const python = onPath('python3');
  if (!python) {
    log('warning: python3 is missing, so schemathesis is not installed: the OpenAPI fuzz test will fail');
    return;
  }
  log(`installing schemathesis ${SCHEMATHESIS_VERSION} into ${path.relative(root, venv)} (pip, about a minute)`);
  const steps = [
    [python, ['-m', 'venv', venv]],
    [path.join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `schemathesis==${SCHEMATHESIS_VERSION}`]],
  ];
  for (const [cmd, args] of steps) {
    if (spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status !== 0) {
      log(`warning: ${path.basename(cmd)} ${args.join(' ')} failed: the OpenAPI fuzz test will fail`);
      return;
    }
  }
  writeFileSync(stamp, SCHEMATHESIS_VERSION);
}

/**
 * Temporal's time-skipping test server for the workflow tests that skip timers
 * (test/helpers/temporal.ts `startTimeSkipping`). Maven Central publishes it only as a jar
 * (io.temporal:temporal-test-server, no native image), so Maven copies its runtime classpath
 * under .tools/temporal-test-server and a launcher goes to .tools/bin/temporal-test-server.
 * Without Java or Maven this is a warning: @temporalio/testing then downloads its native build
 * where the internet is reachable.
 */
const TEMPORAL_TEST_SERVER_VERSION = '1.38.0';

function temporalTestServer() {
  if (process.env.TEMPORAL_TEST_SERVER_PATH) {
    if (!existsSync(process.env.TEMPORAL_TEST_SERVER_PATH))
      throw new Error(`TEMPORAL_TEST_SERVER_PATH=${process.env.TEMPORAL_TEST_SERVER_PATH} does not exist`);
    return;
  }
  const dir = path.join(toolsDir, 'temporal-test-server');
  const lib = path.join(dir, 'lib');
  const launcher = path.join(goBin, 'temporal-test-server');
  const stamp = path.join(dir, 'version');
  if (existsSync(launcher) && existsSync(stamp) && readFileSync(stamp, 'utf8') === TEMPORAL_TEST_SERVER_VERSION) return;
  const java = onPath('java');
  const mvn = onPath('mvn');
  if (!java || !mvn) {
    log(
      `warning: ${java ? 'mvn' : 'java'} is missing, so the Temporal test server is not installed: the time-skipping workflow tests will try to download it`,
    );
    return;
  }
  log(
    `fetching the Temporal test server ${TEMPORAL_TEST_SERVER_VERSION} from Maven Central into ${path.relative(root, dir)} (about 40 MB, half a minute)`,
  );
  mkdirSync(dir, { recursive: true });
  mkdirSync(goBin, { recursive: true });
  const pom = path.join(dir, 'pom.xml');
  writeFileSync(
    pom,
    `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.settlement</groupId><artifactId>temporal-test-server-classpath</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>io.temporal</groupId><artifactId>temporal-test-server</artifactId><version>${TEMPORAL_TEST_SERVER_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-nop</artifactId><version>2.0.17</version></dependency>
  </dependencies>
</project>
`,
  );
  rmSync(lib, { recursive: true, force: true });
  const args = [
    '-q',
    '-B',
    '-Dstyle.color=never',
    '-f',
    pom,
    `-Dmaven.repo.local=${path.join(toolsDir, 'm2')}`,
    'dependency:copy-dependencies',
    `-DoutputDirectory=${lib}`,
    '-DincludeScope=runtime',
  ];
  if (spawnSync(mvn, args, { cwd: dir, stdio: 'inherit' }).status !== 0) {
    log('warning: Maven could not fetch the Temporal test server: the time-skipping workflow tests will try to download it');
    return;
  }
  // One JIT tier, a serial collector and a small heap: it starts in a few seconds and stays light on 2 cores.
  writeFileSync(
    launcher,
    `#!/bin/sh\nexec "${java}" -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "${lib}/*" io.temporal.testserver.TestServer "$@"\n`,
    { mode: 0o755 },
  );
  writeFileSync(stamp, TEMPORAL_TEST_SERVER_VERSION);
}

/**
 * programs/settlement compiled to SBPF v3 (scripts/build-program.mjs: pinned nightly rustc, a patched
 * std copy, sbpf-linker) for the tests that execute it in litesvm. Rebuilt when the program's
 * sources, its lock file, the target spec, the std patch or the build script changed.
 */
function settlementProgram() {
  const script = path.join(root, 'scripts/build-program.mjs');
  const inputs = execFileSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', 'src', 'sbf', 'Cargo.toml', 'Cargo.lock', 'program-test/solana-invoke-host'],
    { cwd: path.join(root, 'programs/settlement'), encoding: 'utf8' },
  )
    .split('\n')
    .filter(Boolean)
    .sort()
    .map((f) => path.join(root, 'programs/settlement', f));
  stamped(
    'settlement-so',
    [...inputs, script],
    () => existsSync(path.join(root, 'programs/settlement/target/deploy/settlement.so')),
    () => {
      log('building the settlement program to SBF (npm run build:program) — 3.5–5 minutes cold on 2 cores, most of it the linker and std');
      run(process.execPath, [script]);
    },
  );
}

/**
 * The local Solana chain: dev/surfpool, a small binary over surfpool-core (Surfpool's validator),
 * built with the toolchain its rust-toolchain.toml pins and copied to .tools/bin/surfpool. Its
 * target/ (about 1.7 GB) lives outside the clone, under ~/.cache/settlement-engine/surfpool-target,
 * so `git status` stays clean and a second clone shares it. Rebuilt when the Rust sources, Cargo.toml,
 * Cargo.lock or rust-toolchain.toml changed; SURFPOOL_PATH names a prebuilt binary instead.
 */
function surfpool() {
  const override = process.env.SURFPOOL_PATH;
  if (override) {
    if (!existsSync(override)) throw new Error(`SURFPOOL_PATH=${override} does not exist`);
    return;
  }
  const crate = path.join(root, 'dev/surfpool');
  const inputs = execFileSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', 'src', 'Cargo.toml', 'Cargo.lock', 'rust-toolchain.toml'],
    {
      cwd: crate,
      encoding: 'utf8',
    },
  )
    .split('\n')
    .filter(Boolean)
    .sort()
    .map((f) => path.join(crate, f));
  const binary = path.join(goBin, 'surfpool');
  stamped(
    'surfpool',
    inputs,
    () => existsSync(binary),
    () => {
      if (!onPath('cargo'))
        throw new Error('cargo is missing: install rustup (https://rustup.rs) or set SURFPOOL_PATH to a prebuilt dev/surfpool binary');
      const toolchain = /channel\s*=\s*"([^"]+)"/.exec(readFileSync(path.join(crate, 'rust-toolchain.toml'), 'utf8'))?.[1];
      if (toolchain && onPath('rustup')) run('rustup', ['toolchain', 'install', toolchain, '--profile', 'minimal'], { cwd: crate });
      const targetDir = path.join(os.homedir(), '.cache', 'settlement-engine', 'surfpool-target');
      log(
        `building the local Solana chain (dev/surfpool over surfpool-core, Rust ${toolchain}) into ${targetDir} — a cold build takes 10 minutes on a quiet 2-core machine, up to 17 under load (877 crates); a rebuild of the binary alone, seconds`,
      );
      // From the crate's directory, so rustup picks its rust-toolchain.toml.
      run('cargo', ['build', '--release', '--locked'], { cwd: crate, env: { ...process.env, CARGO_TARGET_DIR: targetDir } });
      mkdirSync(goBin, { recursive: true });
      copyFileSync(path.join(targetDir, 'release', 'surfpool-dev'), binary);
    },
  );
}

/**
 * A Debian package through apt-get, when `present()` says it is missing: only where apt-get exists
 * and as root (or through sudo without a password); a failure is a warning, for what can run without.
 */
function debianPackage(pkg, present, why, without) {
  if (present() || !onPath('apt-get')) return;
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!asRoot && !onPath('sudo')) {
    log(`${pkg} is missing and apt-get needs root: ${without} (apt-get install -y ${pkg})`);
    return;
  }
  const [cmd, ...pre] = asRoot ? ['apt-get'] : ['sudo', '-n', 'apt-get'];
  const apt = (args) =>
    spawnSync(cmd, [...pre, ...args], { cwd: root, stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  log(`installing ${pkg} with apt-get (${why})`);
  if (apt(['install', '-y', pkg]).status !== 0 && (apt(['update']).status !== 0 || apt(['install', '-y', pkg]).status !== 0)) {
    log(`warning: apt-get could not install ${pkg}: ${without}`);
  }
}

// Headless Chromium for the admin page's end-to-end test (test/e2e/admin-page.test.ts); that one test
// skips without it.
function chromium() {
  debianPackage(
    'chromium',
    () => onPath('chromium') || onPath('chromium-browser') || Boolean(process.env.CHROMIUM_PATH),
    'for the admin page e2e test',
    'the admin page e2e test will skip',
  );
}

// jemalloc, which the stack preloads into the worker (dev/stack.ts JEMALLOC_LIBRARY); the worker runs
// on glibc's malloc without it.
function jemalloc() {
  debianPackage(
    'libjemalloc2',
    () =>
      process.platform !== 'linux' || ['x86_64-linux-gnu', 'aarch64-linux-gnu'].some((t) => existsSync(`/usr/lib/${t}/libjemalloc.so.2`)),
    "for the worker's malloc",
    "the worker will run on glibc's malloc",
  );
}

try {
  npmDependencies();
  goTools();
  settlementProgram();
  surfpool();
  prismaClient();
  contracts();
  compiledBuild();
  chromium();
  jemalloc();
  schemathesis();
  temporalTestServer();
  log('ready');
} catch (err) {
  process.stderr.write(`[setup] ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
