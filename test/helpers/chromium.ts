/**
 * Headless Chromium for the page tests (Debian's `chromium`, driven by playwright-core): where the
 * browser is, whether playwright-core is installed, and a launch with the flags every page test uses.
 * A page test's suite skips, saying why, when either is missing.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const PLAYWRIGHT = 'playwright-core';

function findChromium(): string | undefined {
  const candidates = [
    process.env.CHROMIUM_PATH,
    ...(process.env.PATH ?? '').split(path.delimiter).flatMap((d) => [path.join(d, 'chromium'), path.join(d, 'chromium-browser')]),
  ];
  return candidates.find((c): c is string => !!c && fs.existsSync(c));
}

function hasPlaywright(): boolean {
  try {
    require.resolve(PLAYWRIGHT);
    return true;
  } catch {
    return false;
  }
}

/**
 * `describe`, or `describe.skip` with a warning naming `what` and what is missing; `executablePath`
 * is the browser's (empty when the suite skips).
 */
export function chromiumSuite(what: string): { suite: jest.Describe; executablePath: string } {
  const executablePath = findChromium();
  if (!executablePath) {
    console.warn(`SKIPPED ${what} e2e test: Chromium is not installed (apt-get install -y chromium, or set CHROMIUM_PATH)`);
    return { suite: describe.skip, executablePath: '' };
  }
  if (!hasPlaywright()) {
    console.warn(`SKIPPED ${what} e2e test: playwright-core is not installed (npm install --save-dev playwright-core)`);
    return { suite: describe.skip, executablePath: '' };
  }
  return { suite: describe, executablePath };
}

/** Chromium on a fresh profile directory (playwright passes it to Chromium as --user-data-dir). */
export async function launchChromium(executablePath: string, profile: string): Promise<BrowserContext> {
  const { chromium } = await import(PLAYWRIGHT);
  return chromium.launchPersistentContext(profile, { executablePath, headless: true, args: CHROMIUM_FLAGS });
}
