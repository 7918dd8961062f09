import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**', 'test/stress/**', '**/node_modules/**'],
          testTimeout: 30_000,
          hookTimeout: 120_000,
        },
      },
      {
        // The end-to-end suites each run a private Postfix instance and real daemons under load:
        // one file at a time, after the unit tests (groupOrder), so they neither race each other
        // nor compete with the unit tests for the CPU.
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts', 'test/stress/**/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
