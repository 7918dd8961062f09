/**
 * Memory the LevelDB store's read cache holds per message record it keeps once written
 * (store.read_cache_entries, src/store/read-cache.ts): the same messages recorded into a store with
 * the default cache and, as the reference in the same run, into one with the cache off (0), each in a
 * fresh LevelDB directory. Everything else the store keeps per message (the running aggregates, the
 * group commit) is in both, so the difference is the cache's.
 *
 *   npm run bench:read-cache-memory        BENCH_MESSAGES=50000 (at most the cache's 100,000)
 *
 * Messages as the milter records them: a 16-byte id, one recipient, an email code, a queue id.
 * Figures: heap and ArrayBuffer growth after a full GC, divided by the messages recorded.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LevelTrackStore } from '../src/store/index.js';
import { envInt } from './lib/figures.js';

const MESSAGES = envInt('BENCH_MESSAGES', 50_000, 1);
const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('run with node --expose-gc (npm run bench:read-cache-memory does)');

function heldBytes(): number {
  collect!();
  collect!();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

async function bytesPerMessage(readCacheEntries: number): Promise<{ bytes: number; cached: number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-read-cache-'));
  const store = new LevelTrackStore(dir, { readCacheEntries });
  await store.open();
  const record = (n: number): Promise<void> =>
    store.recordMessage(
      {
        id: randomBytes(16),
        recipients: [`reader${n}@example.org`],
        emailCode: `ec-${n}-7f3a`,
        sendId: 'a100525',
        listId: 'list7',
        queueId: `4Xy${n}QZ`,
        time: new Date(),
      },
      [],
    );
  // The store's own structures (the send's aggregates) exist before the figure starts.
  await Promise.all(Array.from({ length: 100 }, (_, n) => record(-1 - n)));
  const before = heldBytes();
  for (let from = 0; from < MESSAGES; from += 500) await Promise.all(Array.from({ length: Math.min(500, MESSAGES - from) }, (_, k) => record(from + k)));
  const bytes = (heldBytes() - before) / MESSAGES;
  const cached = store.stats().readCache.messages.entries;
  await store.close();
  await rm(dir, { recursive: true, force: true });
  return { bytes, cached };
}

const off = await bytesPerMessage(0);
const on = await bytesPerMessage(100_000);
console.log(`bench:read-cache-memory: ${MESSAGES.toLocaleString('en-US')} messages recorded into LevelDB, node ${process.version}`);
console.log(`  cache off (read_cache_entries = 0): ${off.bytes.toFixed(0)} bytes a message held (${off.cached} cached)`);
console.log(`  default cache (100,000):            ${on.bytes.toFixed(0)} bytes a message held (${on.cached} cached)`);
console.log(
  `  the cache's share: ${(on.bytes - off.bytes).toFixed(0)} bytes a message record; ${(((on.bytes - off.bytes) * 100_000) / 1e6).toFixed(0)} MB when full`,
);
