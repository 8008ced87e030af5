#!/usr/bin/env node
// `npm run build:program`: compiles programs/settlement to an SBPF v3 shared object for the SVM with
// pinned upstream tools (no Solana platform-tools), reproducibly, and prints its sha256.
//
//   rustc   nightly TOOLCHAIN (rustup), its rust-src copied and patched for target_os = "solana"
//   linker  sbpf-linker LINKER_VERSION (cargo install --locked), which drives rustc's own LLVM
//   target  programs/settlement/sbf/sbpf-v3-solana.json (upstream bpfel with os/vendor "solana")
//
// The linker is installed under .tools/sbf; the patched std copy and cargo's build directory live
// under programs/settlement/target/sbf, inside the crate's workspace, so that cargo's `trim-paths`
// maps every source path to a relative or fixed name and nothing depends on where the clone is.
// The result is copied to programs/settlement/target/deploy/settlement.so (all ignored).
// `--verify` copies the crate to a temporary directory elsewhere, builds it there from scratch too,
// and fails unless both shared objects are byte-identical. Node builtins only, like
// scripts/setup.mjs, which runs this when the .so is missing or its inputs changed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TOOLCHAIN = 'nightly-2026-10-30';
export const LINKER_VERSION = '0.2.6';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const programDir = path.join(root, 'programs/settlement');
const sbfDir = path.join(programDir, 'sbf');
export const TARGET_SPEC = path.join(sbfDir, 'sbpf-v3-solana.json');
export const STD_PATCH = path.join(sbfDir, 'std-solana.patch');
export const PROGRAM_SO = path.join(programDir, 'target/deploy/settlement.so');
const toolsDir = path.join(root, '.tools/sbf');
/** Where a crate's SBF build keeps the patched std and cargo's build directory (inside its workspace). */
const sbfBuildDir = (crateDir) => path.join(crateDir, 'target/sbf');
const linkerRoot = path.join(toolsDir, `sbpf-linker-${LINKER_VERSION}`);
const linkerBin = path.join(linkerRoot, 'bin');
const targetName = path.basename(TARGET_SPEC, '.json');

/**
 * SBPF v3 (static syscalls, no relocations), which needs SIMD-0178/0189/0377 on the cluster.
 * panic=immediate-abort: `-C panic=abort` leaves unresolved panic machinery that does not link.
 * The LLVM flags give SBPF's 4 KiB stack frames and keep LLVM from emitting BPF instructions that
 * SBPF v3 lacks (sign-extending moves and loads, byte swaps, indirect jumps).
 */
const RUSTFLAGS = [
  '-Zunstable-options',
  '-Cpanic=immediate-abort',
  '-Ctarget-cpu=v4',
  '-Crelocation-model=static',
  '-Cpasses=lower-atomic',
  '-Cjump-tables=no',
  '-Clink-arg=--arch=v3',
  ...['--bpf-stack-size=4096', '--disable-movsx', '--disable-ldsx', '--disable-bswap', '--disable-gotox'].map(
    (arg) => `-Clink-arg=--llvm-args=${arg}`,
  ),
];

const started = Date.now();
function log(msg) {
  process.stdout.write(`[build:program +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed with exit code ${res.status ?? res.signal}`);
}

function capture(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', ...opts });
  return res.status === 0 ? res.stdout.trim() : undefined;
}

function sha256(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function toolchainSysroot() {
  return capture('rustc', ['--print', 'sysroot'], { env: { ...process.env, RUSTUP_TOOLCHAIN: TOOLCHAIN } });
}

function installToolchain() {
  const sysroot = toolchainSysroot();
  if (sysroot && existsSync(path.join(sysroot, 'lib/rustlib/src/rust/library/std/Cargo.toml'))) return sysroot;
  log(`rustup toolchain install ${TOOLCHAIN} with rust-src (about 15 seconds)`);
  run('rustup', ['toolchain', 'install', TOOLCHAIN, '--profile', 'minimal', '--component', 'rust-src']);
  const installed = toolchainSysroot();
  if (!installed) throw new Error(`rustc of ${TOOLCHAIN} does not run after rustup installed it`);
  return installed;
}

function installLinker() {
  const bin = path.join(linkerBin, 'sbpf-linker');
  if (existsSync(bin)) return;
  log(`cargo install --locked sbpf-linker@${LINKER_VERSION} into ${path.relative(root, linkerRoot)} (about 3 minutes on 2 cores)`);
  // Built by the default host toolchain; at run time it loads the LLVM of the rustc that calls it.
  run('cargo', [
    'install',
    '--locked',
    `sbpf-linker@${LINKER_VERSION}`,
    '--root',
    linkerRoot,
    '-j',
    String(Math.max(1, os.availableParallelism())),
  ]);
}

/**
 * Upstream std has no `target_os = "solana"` arms; the committed patch adds them to a copy of the
 * toolchain's rust-src. The copy is keyed by the patch's hash, so editing the patch makes a new one.
 */
function patchedLibrary(sysroot, crateDir) {
  const patchHash = sha256(STD_PATCH).slice(0, 16);
  const dir = path.join(sbfBuildDir(crateDir), `rust-src-${TOOLCHAIN}-${patchHash}`);
  const library = path.join(dir, 'library');
  if (existsSync(path.join(dir, 'complete'))) return library;
  log(`copying ${TOOLCHAIN}'s rust-src into ${dir} and applying ${path.relative(root, STD_PATCH)}`);
  const staging = `${dir}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  cpSync(path.join(sysroot, 'lib/rustlib/src/rust/library'), path.join(staging, 'library'), { recursive: true });
  run('patch', ['-p1', '--batch', '--forward', '--no-backup-if-mismatch', '-d', path.join(staging, 'library'), '-i', STD_PATCH]);
  writeFileSync(path.join(staging, 'complete'), `${TOOLCHAIN} ${patchHash}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  return library;
}

/**
 * One cargo build of the crate at `crateDir` into its target/sbf/build; returns the shared object.
 *
 * Reproducible across clones: cargo's `trim-paths = "all"` remaps the workspace (which holds the
 * std copy and the build directory) to `.`, registry crates to `<name>-<version>` and the sysroot
 * to `/rustc/<commit>`, so no absolute path reaches the output. Those remaps are cargo's own, not
 * RUSTFLAGS, so the flags (which cargo hashes into every artifact) are the same in every clone, and
 * a path dependency inside the workspace is hashed by its relative path.
 */
function cargoBuild(crateDir, library) {
  const targetDir = path.join(sbfBuildDir(crateDir), 'build');
  const env = {
    ...process.env,
    RUSTUP_TOOLCHAIN: TOOLCHAIN,
    CARGO_TARGET_DIR: targetDir,
    CARGO_PROFILE_RELEASE_TRIM_PATHS: 'all',
    CARGO_ENCODED_RUSTFLAGS: RUSTFLAGS.join('\x1f'),
    // cargo's -Zbuild-std reads std's sources from here instead of the toolchain's rust-src.
    __CARGO_TESTS_ONLY_SRC_ROOT: library,
    PATH: `${linkerBin}${path.delimiter}${process.env.PATH ?? ''}`,
    SOURCE_DATE_EPOCH: '0',
  };
  delete env.RUSTFLAGS;
  delete env.CARGO_BUILD_RUSTFLAGS;
  run(
    'cargo',
    [
      'build',
      '--release',
      '--locked',
      '--manifest-path',
      path.join(crateDir, 'Cargo.toml'),
      '-p',
      'settlement',
      '--lib',
      '--target',
      path.join(crateDir, path.relative(programDir, TARGET_SPEC)),
      '-Zbuild-std=std,panic_abort',
      '-Zjson-target-spec',
      '-j',
      String(Math.max(1, os.availableParallelism())),
    ],
    { env, cwd: crateDir },
  );
  // The target spec keeps rustc's default `lib` prefix for shared objects.
  const built = path.join(targetDir, targetName, 'release', 'libsettlement.so');
  if (!existsSync(built)) throw new Error(`cargo finished but ${built} does not exist`);
  return built;
}

/** Absolute paths of this machine that must not appear in the output. */
function leakedPaths(file, crateDir) {
  const bytes = readFileSync(file);
  const cargoHome = process.env.CARGO_HOME ?? path.join(os.homedir(), '.cargo');
  const rustupHome = process.env.RUSTUP_HOME ?? path.join(os.homedir(), '.rustup');
  return [crateDir, root, cargoHome, rustupHome].filter((p) => bytes.includes(Buffer.from(p)));
}

/** The crate as a clone elsewhere would have it: its sources without any build output. */
function copyCrate(dest) {
  cpSync(programDir, dest, {
    recursive: true,
    filter: (src) => path.relative(programDir, src).split(path.sep)[0] !== 'target',
  });
}

function main() {
  const verify = process.argv.includes('--verify');
  const sysroot = installToolchain();
  installLinker();
  log(`cargo build --release --target ${path.relative(root, TARGET_SPEC)} -Zbuild-std (a cold build takes a few minutes)`);
  const built = cargoBuild(programDir, patchedLibrary(sysroot, programDir));
  const digest = sha256(built);
  const leaks = leakedPaths(built, programDir);
  if (leaks.length > 0) throw new Error(`${built} contains absolute paths: ${leaks.join(', ')}`);
  if (verify) {
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'settlement-verify-'));
    try {
      const crateDir = path.join(elsewhere, 'programs/settlement');
      copyCrate(crateDir);
      log(`--verify: building again from scratch in a copy at ${crateDir}`);
      const again = sha256(cargoBuild(crateDir, patchedLibrary(sysroot, crateDir)));
      if (again !== digest) throw new Error(`not reproducible: ${digest} here, ${again} in ${crateDir}`);
      log('--verify: both builds are byte-identical');
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  }
  mkdirSync(path.dirname(PROGRAM_SO), { recursive: true });
  copyFileSync(built, PROGRAM_SO);
  log(`${path.relative(root, PROGRAM_SO)}: ${statSync(PROGRAM_SO).size} bytes, sha256 ${digest}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (err) {
    process.stderr.write(`[build:program] ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
