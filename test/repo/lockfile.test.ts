/**
 * package-lock.json is what `npm ci` needs on every platform: in step with package.json, and with an
 * entry for every optional (platform) dependency a locked package names. `npm run lock` writes it.
 */
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');
interface LockEntry {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}
const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as LockEntry;

it('the lock root matches package.json (npm ci refuses it otherwise)', () => {
  const rootEntry = lock.packages[''] ?? {};
  expect(rootEntry.dependencies).toEqual(pkg.dependencies);
  expect(rootEntry.devDependencies).toEqual(pkg.devDependencies);
});

it("every optional dependency of a locked package has its own entry (other platforms' binaries included)", () => {
  const missing: string[] = [];
  for (const [location, entry] of Object.entries(lock.packages)) {
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) {
      // Node's resolution: the package's own node_modules, then each enclosing one up to the root.
      let base = location;
      let found = false;
      for (;;) {
        if (lock.packages[`${base ? `${base}/` : ''}node_modules/${dep}`]) {
          found = true;
          break;
        }
        if (!base) break;
        const at = base.lastIndexOf('/node_modules/');
        base = at < 0 ? '' : base.slice(0, at);
      }
      if (!found) missing.push(`${location || '(root)'} → ${dep}`);
    }
  }
  expect(missing).toEqual([]);
  // the platforms this repo's native packages ship for are all there
  for (const name of [
    '@swc/core-darwin-arm64',
    '@swc/core-win32-x64-msvc',
    '@esbuild/darwin-arm64',
    'litesvm-darwin-arm64',
    '@foundry-rs/anvil-darwin-arm64',
  ]) {
    expect({ name, locked: `node_modules/${name}` in lock.packages }).toEqual({ name, locked: true });
  }
});
