/**
 * Store throughput against bare classic-level in the same run.
 *
 *   tsx bench/store.ts [seconds per measurement, default 2] [only cases whose name contains this]
 *
 * Cases: recordMessage with 40 URL rows (all new, the worst case; and all known, the steady state of a
 * send where rows are deduplicated), and recordEvents with one event per call (a click each). Each runs
 * with sync false and true, with 1 caller at a time and with 64 concurrent callers (the milter and the
 * redirector both have many in flight). The reference writes the same key and value bytes with one
 * db.batch() per call at the same concurrency (an event alone in its batch record): LevelDB then merges
 * concurrent writers itself, so the ratio shows what the store's own work and group commit gain over
 * that, for events including the shared batch records a group writes instead of one record per call.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { ClassicLevel } from 'classic-level';
import { LevelTrackStore, type MessageRecord, type TrackEvent, type UrlRow } from '../src/store/index.js';
import * as keys from '../src/store/keys.js';
import { encodeEvent, encodeEventBatch, encodeMessage, encodeUrlRow } from '../src/store/values.js';

const SECONDS = Number(process.argv[2] ?? 2);
const ONLY = process.argv[3] ?? '';
const ROWS_PER_MESSAGE = 40;
const EMPTY = Buffer.alloc(0);

type Op = { type: 'put'; key: Buffer; value: Buffer };

const hashId = (...parts: string[]): Buffer => createHash('sha256').update(parts.join('\0')).digest().subarray(0, 12);

function messageOf(n: number): MessageRecord {
  return {
    id: hashId('m', String(n)),
    recipients: [`subscriber${n}@example.com`],
    emailCode: String(n),
    sendId: 'a100525',
    listId: 'list1',
    queueId: `4Qx${n.toString(16)}`,
    time: new Date(1_700_000_000_000 + n),
  };
}

/** 40 rows; `fresh` makes every message's rows new, otherwise all messages share the same 40. */
function rowsOf(n: number, fresh: boolean): UrlRow[] {
  return Array.from({ length: ROWS_PER_MESSAGE }, (_, i) => {
    const url = `https://shop.example.com/catalog/spring/item-${i}${fresh ? `/${n}` : ''}`;
    return { id: hashId('u', url), sendId: 'a100525', listId: 'list1', url, linkName: `item${i}` };
  });
}

function eventOf(n: number): TrackEvent {
  return {
    id: randomBytes(8),
    time: new Date(1_700_000_000_000 + n),
    type: 'click',
    sendId: 'a100525',
    listId: 'list1',
    recipient: `subscriber${n}@example.com`,
    emailCode: String(n),
    url: 'https://shop.example.com/catalog/spring/item-3',
    linkName: 'item3',
    position: 3,
    part: 'h',
    ip: '198.51.100.23',
    userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)',
    machine: false,
  };
}

/** The bytes the store writes for a message (with its rows when they are new to it). */
function messageOps(message: MessageRecord, rows: UrlRow[]): Op[] {
  const time = keys.encodeTime(message.time);
  const sendId = keys.encodeSendId(message.sendId);
  const ops: Op[] = [
    { type: 'put', key: keys.messageKey(message.id), value: encodeMessage(message) },
    { type: 'put', key: keys.sendMessageKey(sendId, time, message.id), value: EMPTY },
    { type: 'put', key: keys.messageRetentionKey(time, sendId, message.id), value: EMPTY },
  ];
  for (const row of rows) {
    ops.push(
      { type: 'put', key: keys.urlRowKey(row.id), value: encodeUrlRow(row, message.time) },
      { type: 'put', key: keys.sendUrlKey(keys.encodeSendId(row.sendId), row.id), value: EMPTY },
      { type: 'put', key: keys.urlRetentionKey(time, row.id), value: EMPTY },
    );
  }
  return ops;
}

/** An event alone in its batch record, as the store writes it when nothing shares its group. */
function eventOps(event: TrackEvent): Op[] {
  const id = Buffer.from(event.id);
  const key = keys.eventBatchKey(keys.encodeSendId(event.sendId), keys.encodeTime(event.time), id);
  return [
    { type: 'put', key, value: encodeEventBatch([{ id, timeMs: event.time.getTime(), value: encodeEvent(event) }]) },
    { type: 'put', key: keys.eventBatchRetentionKey(key), value: EMPTY },
  ];
}

interface Case {
  name: string;
  store: (store: LevelTrackStore, n: number) => Promise<void>;
  bare: (db: ClassicLevel<Buffer, Buffer>, n: number, sync: boolean) => Promise<void>;
  /** Writes done before timing, e.g. the rows a steady-state send already has. */
  warm?: (store: LevelTrackStore) => Promise<void>;
}

const sharedRows = rowsOf(0, false);
const cases: Case[] = [
  {
    name: 'recordMessage, 40 new rows',
    store: (s, n) => s.recordMessage(messageOf(n), rowsOf(n, true)),
    bare: (db, n, sync) => db.batch(messageOps(messageOf(n), rowsOf(n, true)), { sync }),
  },
  {
    name: 'recordMessage, 40 known rows',
    warm: (s) => s.recordMessage(messageOf(-1 >>> 0), sharedRows),
    store: (s, n) => s.recordMessage(messageOf(n), sharedRows),
    // The store writes only the message for these; the reference writes the same.
    bare: (db, n, sync) => db.batch(messageOps(messageOf(n), []), { sync }),
  },
  {
    name: 'recordEvents, 1 event',
    store: (s, n) => s.recordEvents([eventOf(n)]),
    bare: (db, n, sync) => db.batch(eventOps(eventOf(n)), { sync }),
  },
];

/** Calls per second with `concurrency` callers each awaiting its previous call. */
async function rate(concurrency: number, call: (n: number) => Promise<void>): Promise<number> {
  let next = 0;
  let done = 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await call(next++);
        done += 1;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

async function withDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(tmpdir(), 'trackmilter-bench-store-'));
  try {
    return await run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureStore(c: Case, sync: boolean, concurrency: number): Promise<{ perSecond: number; callsPerBatch: number }> {
  return withDir(async (dir) => {
    const store = new LevelTrackStore(dir, { sync });
    await store.open();
    await c.warm?.(store);
    const before = store.stats();
    const perSecond = await rate(concurrency, (n) => c.store(store, n));
    const after = store.stats();
    await store.close();
    return { perSecond, callsPerBatch: (after.writeCalls - before.writeCalls) / (after.batches - before.batches) };
  });
}

async function measureBare(c: Case, sync: boolean, concurrency: number): Promise<number> {
  return withDir(async (dir) => {
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    const perSecond = await rate(concurrency, (n) => c.bare(db, n, sync));
    await db.close();
    return perSecond;
  });
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(9);

console.log(`store vs bare classic-level batch, ${SECONDS}s per measurement, node ${process.version}`);
console.log('case                           sync  conc   store/s    bare/s  ratio  calls/batch');
for (const sync of [false, true]) {
  for (const c of cases.filter((x) => x.name.includes(ONLY))) {
    for (const concurrency of [1, 64]) {
      const bare = await measureBare(c, sync, concurrency);
      const store = await measureStore(c, sync, concurrency);
      console.log(
        `${c.name.padEnd(30)} ${String(sync).padEnd(5)} ${String(concurrency).padStart(4)} ${fmt(store.perSecond)} ${fmt(bare)}  ` +
          `${(store.perSecond / bare).toFixed(2).padStart(5)}  ${store.callsPerBatch.toFixed(1).padStart(11)}`,
      );
    }
  }
}
