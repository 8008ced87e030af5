// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import fs from 'node:fs';

// Prisma's model delegates (`db.purchase`, `tx.treasuryHold`, …), read from the schema so a new model is fenced too.
const prismaModels = [...fs.readFileSync(new URL('./prisma/schema.prisma', import.meta.url), 'utf8').matchAll(/^model (\w+)/gm)].map(
  ([, name]) => name[0].toLowerCase() + name.slice(1),
);
const prismaOperations = [
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'create',
  'createMany',
  'createManyAndReturn',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'upsert',
  'delete',
  'deleteMany',
  'count',
  'aggregate',
  'groupBy',
];
const processEnvFence = {
  selector: "MemberExpression[object.name='process'][property.name='env']",
  message: 'Only src/config.ts reads process.env.',
};
const dataAccessMessage = "Only src/db talks to Prisma: add a named function to the aggregate's module in src/db and call that.";
const dataAccessFence = [
  {
    selector: `MemberExpression[object.type='MemberExpression'][object.property.name=/^(${prismaModels.join('|')})$/][property.name=/^(${prismaOperations.join('|')})$/]`,
    message: dataAccessMessage,
  },
  {
    selector: 'MemberExpression[property.name=/^\\$(transaction|queryRaw|queryRawUnsafe|executeRaw|executeRawUnsafe)$/]',
    message: dataAccessMessage,
  },
];

// Product code (src/) runs in production: it imports nothing from the dev harness (dev/: the local
// stack, chains, dev Stripe, demo, chaos run), the tests, the bench, or the generated ABIs that carry
// creation bytecode (only the deploy code loads them). test/repo/production-imports.test.ts walks
// the entry points' import graph for the same thing. Every block below that sets
// no-restricted-imports for src/ repeats this fence, since a later block replaces the rule's options.
const harnessFence = {
  group: ['**/dev/**', '**/dev', '**/test/**', '**/bench/**', '**/generated/evm/**'],
  message: 'Product code (src/) imports nothing from dev/, test/, bench/ or the generated ABIs.',
};

const nodeBuiltins = [
  'fs',
  'path',
  'os',
  'crypto',
  'http',
  'https',
  'net',
  'child_process',
  'worker_threads',
  'stream',
  'url',
  'util',
  'events',
  'dns',
  'tls',
  'zlib',
  'process',
  'buffer',
  'timers',
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      '.data/**',
      '.tools/**',
      'generated/**',
      'contracts/out/**',
      'programs/**/target/**',
      'coverage/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', processEnvFence],
    },
  },
  {
    files: ['src/config.ts', 'scripts/**', 'test/**', 'bench/**', 'prisma.config.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  { files: ['src/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [harnessFence] }] } },
  {
    // Data access has one owner, src/db: nothing else imports the Prisma client or calls a model,
    // a transaction or raw SQL. Others receive a `Db` handle (type import) and pass it to src/db.
    // src/runtime.ts builds the client.
    files: ['src/**/*.ts'],
    ignores: ['src/db/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['@prisma/client', '@prisma/adapter-pg'].map((name) => ({ name, message: dataAccessMessage })),
          patterns: [
            { group: ['**/db/client', '**/generated/prisma/**'], allowTypeImports: true, message: dataAccessMessage },
            harnessFence,
          ],
        },
      ],
      'no-restricted-syntax': ['error', processEnvFence, ...dataAccessFence],
    },
  },
  { files: ['src/config.ts'], rules: { 'no-restricted-syntax': ['error', ...dataAccessFence] } },
  { files: ['src/runtime.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [harnessFence] }] } },
  {
    files: ['src/chains/evm/deploy.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ ...harnessFence, group: harnessFence.group.filter((g) => g !== '**/generated/evm/**') }] },
      ],
    },
  },
  {
    // The workflow sandbox: deterministic code only.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.flatMap((m) => [m, `node:${m}`]),
            '@prisma/client',
            'pg',
            'stripe',
            'express',
            'ethers',
            '@solana/web3.js',
            '@temporalio/client',
            '@temporalio/worker',
            '@temporalio/activity',
          ].map((name) => ({ name, message: 'Workflows are sandboxed: no Node builtins or I/O modules.' })),
          patterns: [
            {
              group: ['**/activities/*', '**/activities', '!**/activities/types'],
              allowTypeImports: true,
              message: 'Import activity types only (import type).',
            },
            {
              group: ['**/db/**', '**/generated/**', '**/chains/**', '**/api/**', '**/config'],
              message: 'Workflows may import only @temporalio/workflow and src/shared.',
            },
            harnessFence,
          ],
        },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'fetch'],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { ...globals.node } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
