import { defineConfig } from 'vitest/config';

// Projects named for what their tests run:
//   in-process  modules in the test's own process (real LevelDB on disk, real sockets on loopback)
//   processes   tests that start programs: trackmilter daemons and commands, miltertest, Sendmail,
//               openssl, npm pack, systemd-analyze, crash children, a private PostgreSQL
//   postfix     a private Postfix relaying to smtp-sink, and the stress runs under load
const PROCESSES = [
  'test/admin/dashboard-browser.test.ts',
  'test/metrics/grafana-dashboard.test.ts',
  'test/app/abuse.test.ts',
  'test/app/click-flow.test.ts',
  'test/app/config-wiring.test.ts',
  'test/app/durability.test.ts',
  'test/app/fleet-postgres.test.ts',
  'test/app/http-limits.test.ts',
  'test/app/sinks.test.ts',
  'test/app/stateless.test.ts',
  'test/app/unsubscribe.test.ts',
  'test/app/worker-threads.test.ts',
  'test/bounce/intake.test.ts',
  'test/cli/**/*.test.ts',
  'test/events/crash.test.ts',
  'test/fuzz/fuzz.test.ts',
  'test/install/**/*.test.ts',
  'test/milter/unix-socket.test.ts',
  'test/miltertest/**/*.test.ts',
  'test/redirector/tls.test.ts',
  'test/sendmail/**/*.test.ts',
  'test/store/crash.test.ts',
  'test/store/postgres/**/*.test.ts',
];
const POSTFIX = ['test/e2e/**/*.test.ts', 'test/stress/**/*.test.ts'];

export default defineConfig({
  test: {
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'in-process',
          include: ['test/**/*.test.ts'],
          exclude: [...PROCESSES, ...POSTFIX, '**/node_modules/**'],
          testTimeout: 30_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'processes',
          include: PROCESSES,
          testTimeout: 30_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Each file runs a private Postfix instance and real daemons under load: one file at a time,
        // after the other projects (groupOrder), so they neither race each other nor compete with
        // the rest for the CPU.
        extends: true,
        test: {
          name: 'postfix',
          include: POSTFIX,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
