#!/usr/bin/env node
// `npm run lock`: rewrites package-lock.json from package.json in a scratch directory without
// node_modules, where npm records every platform's optional binaries (in a tree with node_modules
// npm keeps only the current platform's, and `npm ci` on another platform then refuses the lock).
// `npm run lock -- --check` exits 1 when the committed lock would change.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'settlement-lock-'));
try {
  copyFileSync(path.join(root, 'package.json'), path.join(scratch, 'package.json'));
  const lockFile = path.join(root, 'package-lock.json');
  if (existsSync(lockFile)) copyFileSync(lockFile, path.join(scratch, 'package-lock.json'));
  const res = spawnSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: scratch,
    stdio: 'inherit',
  });
  if (res.status !== 0) process.exit(res.status ?? 1);
  const next = readFileSync(path.join(scratch, 'package-lock.json'), 'utf8');
  const current = existsSync(lockFile) ? readFileSync(lockFile, 'utf8') : '';
  if (next === current) {
    console.log('package-lock.json is up to date');
  } else if (check) {
    console.error('package-lock.json is stale: run `npm run lock` and commit it');
    process.exit(1);
  } else {
    writeFileSync(lockFile, next);
    console.log('wrote package-lock.json');
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
