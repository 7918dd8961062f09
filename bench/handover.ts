/**
 * Where a message's work should run: on the main thread, or handed to a tracking worker and back.
 * For bodies of growing size (HTML with a link every ~2 KB, as newsletters have), per message:
 *   inline        main-thread time of prepareTracking itself
 *   pooled main   main-thread time when the pool does the work (hand-over, wake-up, result revived)
 *   pooled wall   one message's latency through the pool (the round trip added to its work)
 *   inline CPU, pooled CPU   the process's CPU time, all threads (the worker's, and V8's collector
 *                 threads), per message: what each way costs the machine
 * Main-thread time is measured with performance.eventLoopUtilization (the thread's active time).
 * `milter.worker_min_bytes` weighs the two: below it, the hand-over's extra CPU is a large share of
 * the work and the main thread is held only briefly; above it, the main thread would be held long.
 *
 *   tsx bench/handover.ts         BENCH_MESSAGES=200 per size
 */
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import { defaultConfig } from '../src/config/load.js';
import { createKeyring, signingKey } from '../src/tokens/index.js';
import { inlineWork } from '../src/tracking/tracking-work.js';
import { TrackingPool } from '../src/tracking/worker-pool.js';
import { silentLogger } from '../src/util/log.js';
import { bigHtmlMessage } from '../test/helpers/big-html.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200);
const SIZES = [500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 512_000];
const config = { ...defaultConfig(), 'tracking.domain': 't.example.org' };
const keyring = createKeyring([signingKey(1, Buffer.alloc(32, 1))], 1);
const envelope = { from: { address: 'shop@sender.example', args: [] }, recipients: [{ address: 'reader@example.net', args: [] }], queueId: 'Q' };
const never = new AbortController().signal;

function messages(bytes: number) {
  const { headers, body } = bigHtmlMessage(bytes, Math.max(1, Math.round(bytes / 2_000)));
  // Fresh bodies: the pool moves each one away.
  return Array.from({ length: MESSAGES }, () => ({ ...envelope, headers, body: Buffer.from(body) }));
}

async function timeMessages(run: () => Promise<void>): Promise<{ mainMs: number; wallMs: number; cpuMs: number }> {
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const start = performance.now();
  await run();
  const used = performance.eventLoopUtilization(elu);
  const spent = process.cpuUsage(cpu);
  return { mainMs: used.active / MESSAGES, wallMs: (performance.now() - start) / MESSAGES, cpuMs: (spent.user + spent.system) / 1000 / MESSAGES };
}

async function main(): Promise<void> {
  console.log(
    `${MESSAGES} messages per size, one at a time; ${os.cpus().length} CPUs, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const inline = inlineWork(config, keyring);
  const pool = await TrackingPool.start({ size: 1, config, keyring, logger: silentLogger });
  const rows: Array<Record<string, string>> = [];
  try {
    for (const bytes of SIZES) {
      const a = messages(bytes);
      const b = messages(bytes);
      // Warm both paths (JIT, the worker's caches) on a few messages first.
      for (const m of a.slice(0, 5)) await inline.prepare({ ...m, body: Buffer.from(m.body) }, never);
      for (const m of b.slice(0, 5)) await pool.run({ ...m, body: Buffer.from(m.body) }, never);
      const inl = await timeMessages(async () => {
        for (const m of a) await inline.prepare(m, never);
      });
      const pooled = await timeMessages(async () => {
        for (const m of b) await pool.run(m, never);
      });
      rows.push({
        bytes: String(bytes),
        'inline ms': inl.mainMs.toFixed(3),
        'pooled main ms': pooled.mainMs.toFixed(3),
        'pooled wall ms': pooled.wallMs.toFixed(3),
        'main time saved': `${Math.round((1 - pooled.mainMs / inl.mainMs) * 100)}%`,
        'inline CPU ms': inl.cpuMs.toFixed(3),
        'pooled CPU ms': pooled.cpuMs.toFixed(3),
        'pooled/inline CPU': (pooled.cpuMs / inl.cpuMs).toFixed(2),
      });
    }
  } finally {
    await pool.close();
  }
  console.table(rows);
}

await main();
