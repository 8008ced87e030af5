/**
 * Data access has one owner, src/db: the lint fence in eslint.config.mjs refuses Prisma client
 * imports and Prisma calls (model delegates, transactions, raw SQL) anywhere else in src, while a
 * `Db` type import and calls into src/db stay allowed.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const root = path.resolve(__dirname, '../..');
const FENCED = ['no-restricted-imports', 'no-restricted-syntax'];

interface LintMessage {
  ruleId: string | null;
  line: number;
  message: string;
}

/** Lint `code` with the repository's config as if it were `file`, through the CLI: the flat config is an ES module jest cannot load. */
async function lint(file: string, code: string): Promise<LintMessage[]> {
  const run = promisify(execFile)(
    process.execPath,
    [
      path.join(root, 'node_modules/eslint/bin/eslint.js'),
      '--format',
      'json',
      '--stdin',
      '--stdin-filename',
      file,
      // the fence needs no type information: skip building the TypeScript program (seconds per run)
      '--parser-options',
      'projectService:false',
      '--rule',
      '@typescript-eslint/no-floating-promises: off',
      '--rule',
      '@typescript-eslint/no-misused-promises: off',
    ],
    { cwd: root, maxBuffer: 10 * 1024 * 1024 },
  );
  run.child.stdin?.end(code);
  const { stdout } = await run.catch((err: { code?: number; stdout?: string }) => {
    // exit status 1 means "lint errors found", which is what the refusing cases expect
    if (err.code === 1 && err.stdout) return { stdout: err.stdout };
    throw err;
  });
  const [result] = JSON.parse(stdout) as { messages: LintMessage[] }[];
  return result?.messages ?? [];
}

async function fenceFindings(file: string, code: string): Promise<string[]> {
  return (await lint(file, code))
    .filter((m) => m.ruleId !== null && FENCED.includes(m.ruleId) && m.message.includes('src/db'))
    .map((m) => `${m.ruleId}@${m.line}`);
}

const offending = [
  "import { Prisma } from '../db/client';",
  "import type { Db } from '../db/client';",
  'export const rows = (db: Db) => db.purchase.findMany({ where: { status: String(Prisma.DbNull) } });',
  'export const holds = (db: Db) => db.$transaction(async (tx) => tx.treasuryHold.count());',
  'export const raw = (db: Db) => db.$queryRaw`SELECT 1`;',
].join('\n');

describe('the data-access fence', () => {
  test('outside src/db: a Prisma value import, model calls, a transaction and raw SQL are each refused', async () => {
    expect(await fenceFindings('src/services/checkout.ts', offending)).toEqual([
      'no-restricted-imports@1',
      'no-restricted-syntax@3',
      'no-restricted-syntax@4',
      'no-restricted-syntax@4',
      'no-restricted-syntax@5',
    ]);
  });

  test('outside src/db: a Db type import, calls into src/db and Stripe resources with model-like names pass', async () => {
    const code = [
      "import type Stripe from 'stripe';",
      "import type { Db } from '../db/client';",
      "import { findPurchaseId } from '../db/purchases';",
      'export const id = (db: Db) => findPurchaseId(db, "pur_1");',
      'export const cancel = (stripe: Stripe) => stripe.subscriptions.update("sub_1", {});',
    ].join('\n');
    expect(await fenceFindings('src/services/checkout.ts', code)).toEqual([]);
  });

  test('inside src/db the same code passes', async () => {
    expect(await fenceFindings('src/db/purchases.ts', offending.replaceAll("'../db/client'", "'./client'"))).toEqual([]);
  });

  test('workflows may not import the generated Prisma client at all', async () => {
    const messages = await lint(
      'src/workflows/purchase.ts',
      "import type { Purchase } from '../../generated/prisma/client';\nexport type P = Purchase;\n",
    );
    expect(messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.line)).toEqual([1]);
  });
});
