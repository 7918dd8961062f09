import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // The end-to-end suites each run a private Postfix instance; they must not race each other.
    fileParallelism: true,
    pool: 'forks',
  },
});
