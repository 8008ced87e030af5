#!/usr/bin/env node
/**
 * Generates the settlement program's IDL from its Rust source and writes idl/settlement.json.
 *
 * There is no anchor CLI on our machines, so this does what `anchor idl build` does
 * (anchor-lang-idl 0.1.x `build.rs`): run the program's tests with the `idl-build` feature, filter
 * to `__anchor_private_print_idl`, and assemble the printed pieces (address, constants, errors,
 * events and their types, program) into one Anchor 0.30+ IDL, with module paths shortened to names
 * where unambiguous and lists sorted by name.
 *
 *   node scripts/build-idl.mjs           write idl/settlement.json
 *   node scripts/build-idl.mjs --check   exit 1 when the committed IDL differs from the source
 *
 * Env: CARGO_BUILD_JOBS (default 2) limits compile parallelism on shared machines.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const programPath = path.join(root, 'programs', 'settlement');
const idlPath = path.join(root, 'idl', 'settlement.json');
const check = process.argv.includes('--check');

function runCargo() {
  const result = spawnSync('cargo', ['test', '--features', 'idl-build', '--', '__anchor_private_print_idl', '--show-output', '--quiet'], {
    cwd: programPath,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      CARGO_BUILD_JOBS: process.env.CARGO_BUILD_JOBS ?? '2',
      ANCHOR_IDL_BUILD_NO_DOCS: 'FALSE',
      ANCHOR_IDL_BUILD_RESOLUTION: 'TRUE',
      ANCHOR_IDL_BUILD_SKIP_LINT: 'FALSE',
      ANCHOR_IDL_BUILD_PROGRAM_PATH: programPath,
    },
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    process.stderr.write(result.stdout ?? '');
    throw new Error(`cargo test --features idl-build exited with ${result.status}`);
  }
  return result.stdout;
}

/** Mirrors the state machine in anchor-lang-idl's build.rs. */
function assemble(stdout) {
  let address = '';
  const constants = [];
  const events = [];
  let errors;
  const types = new Map();
  let program;
  let state = 'pass';
  let lines = [];
  for (const line of stdout.split('\n')) {
    if (state === 'pass') {
      switch (line) {
        case '--- IDL begin address ---':
          state = 'address';
          break;
        case '--- IDL begin const ---':
          state = 'const';
          lines = [];
          break;
        case '--- IDL begin event ---':
          state = 'event';
          lines = [];
          break;
        case '--- IDL begin errors ---':
          if (errors !== undefined) throw new Error('Multiple error definitions are not allowed.');
          state = 'errors';
          lines = [];
          break;
        case '--- IDL begin program ---':
          state = 'program';
          lines = [];
          break;
        default:
          break;
      }
      continue;
    }
    if (state === 'address') {
      address = line.replace(/[^A-Za-z0-9]/g, '');
      state = 'pass';
      continue;
    }
    if (line === `--- IDL end ${state} ---`) {
      const value = JSON.parse(lines.join('\n'));
      if (state === 'const') constants.push(value);
      if (state === 'errors') errors = value;
      if (state === 'program') program = value;
      if (state === 'event') {
        events.push(value.event);
        for (const ty of value.types) types.set(ty.name, ty);
      }
      state = 'pass';
      continue;
    }
    lines.push(line);
  }
  if (program === undefined) throw new Error("IDL doesn't exist: no program section in the cargo output");
  for (const ty of program.types ?? []) types.set(ty.name, ty);
  const byName = (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return {
    address,
    metadata: program.metadata,
    docs: program.docs ?? [],
    instructions: program.instructions ?? [],
    accounts: program.accounts ?? [],
    events,
    errors: errors ?? [],
    types: [...types.values()].sort(byName),
    constants,
  };
}

/** Same rule as anchor-lang-idl `convert_module_paths`: `a::b::Name` → `Name` unless two paths share a name. */
function convertModulePaths(json) {
  let out = json;
  for (const match of json.matchAll(/"(\w+::)+(\w+)"/g)) {
    const [full, , name] = match;
    const replaced = out.split(full).join(`"${name}"`);
    if (!new RegExp(`"(\\w+::)+${name}"`).test(replaced)) out = replaced;
  }
  return out;
}

/**
 * The pieces arrive partly as serialized structs (declaration order) and partly as sorted JSON maps
 * (events). Put every object's keys in the order of anchor-lang-idl-spec's structs so the file is
 * what `anchor idl build` would write.
 */
const KEY_ORDER = [
  'code',
  'name',
  'docs',
  'discriminator',
  'serialization',
  'repr',
  'generics',
  'writable',
  'signer',
  'optional',
  'address',
  'pda',
  'relations',
  'seeds',
  'program',
  'kind',
  'type',
  'value',
  'path',
  'account',
  'accounts',
  'args',
  'returns',
  'fields',
  'variants',
  'msg',
];
function orderKeys(value) {
  if (Array.isArray(value)) return value.map(orderKeys);
  if (value === null || typeof value !== 'object') return value;
  const rank = (key) => {
    const index = KEY_ORDER.indexOf(key);
    return index === -1 ? KEY_ORDER.length : index;
  };
  const keys = Object.keys(value).sort((a, b) => rank(a) - rank(b));
  return Object.fromEntries(keys.map((key) => [key, orderKeys(value[key])]));
}

function render(idl) {
  const sortByName = (list) => [...list].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out = { address: idl.address, metadata: idl.metadata };
  if (idl.docs.length > 0) out.docs = idl.docs;
  out.instructions = sortByName(idl.instructions).map(orderKeys);
  if (idl.accounts.length > 0) out.accounts = sortByName(idl.accounts).map(orderKeys);
  if (idl.events.length > 0) out.events = sortByName(idl.events).map(orderKeys);
  if (idl.errors.length > 0) out.errors = idl.errors.map(orderKeys);
  if (idl.types.length > 0) out.types = sortByName(idl.types).map(orderKeys);
  if (idl.constants.length > 0) out.constants = sortByName(idl.constants).map(orderKeys);
  const converted = JSON.parse(convertModulePaths(JSON.stringify(out)));
  // Sort again: shortened names can change the order.
  for (const key of ['instructions', 'accounts', 'events', 'types', 'constants']) {
    if (converted[key]) converted[key] = sortByName(converted[key]);
  }
  return `${JSON.stringify(converted, null, 2)}\n`;
}

function main() {
  const generated = render(assemble(runCargo()));
  if (check) {
    const committed = existsSync(idlPath) ? readFileSync(idlPath, 'utf8') : '';
    if (committed !== generated) {
      console.error(
        `${path.relative(root, idlPath)} is out of date with programs/settlement: run node scripts/build-idl.mjs and commit it.`,
      );
      process.exit(1);
    }
    console.log(`${path.relative(root, idlPath)} matches programs/settlement`);
    return;
  }
  mkdirSync(path.dirname(idlPath), { recursive: true });
  writeFileSync(idlPath, generated);
  console.log(`wrote ${path.relative(root, idlPath)}`);
}

try {
  main();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
