// Lint: typescript-eslint's recommended rules, plus the one rule that keeps the core pure.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const infrastructure = ['bullmq', 'ioredis', '@aws-sdk/*', 'node:http', 'node:https', 'node:net', 'node:dns'];

/** zod/mini loads no messages; src/shared/zod.ts sets the English ones before any schema parses. */
const zodMini = {
  group: ['zod/mini', 'zod/v4/mini', 'zod/v4-mini'],
  message: "Import z from src/shared/zod.ts, which loads zod's English messages.",
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      '.serverless/**',
      '.esbuild/**',
      'dist/**',
      'ui/dist/**',
      '.local/**',
      'coverage/**',
      'test-artifacts/**',
      'bench/results/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly', URL: 'readonly' } },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Redis and BullMQ are reached through src/queue only; entry points and tests may wire them directly.
    files: ['src/**/*.ts'],
    ignores: ['src/queue/**', 'src/shared/zod.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['bullmq', 'ioredis'], message: 'Only src/queue imports bullmq and ioredis.' },
            zodMini,
          ],
        },
      ],
    },
  },
  {
    // The pure core: definitions, trigger matching, conditions and planning never touch Redis, queues or AWS.
    files: [
      'src/workflows/schema.ts',
      'src/workflows/graph.ts',
      'src/triggers/**',
      'src/engine/plan.ts',
      'src/engine/conditions.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: infrastructure,
              message: 'The core stays pure: infrastructure lives at the edges (src/queue, src/actions).',
            },
            zodMini,
          ],
        },
      ],
    },
  },
);
