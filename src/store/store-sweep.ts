/**
 * The retention sweep: everything older than a cutoff is deleted, index range by index range, chunk by
 * chunk, through the writer's group committer so that deletes are ordered with the writes around them.
 */
import type { LevelDatabase, LevelDel, LevelOperation } from '../level/database.js';
import {
  encodeSendId,
  encodeTime,
  eventBatchKeyFromRetentionKey,
  eventKeyFromRetentionKey,
  messageKey,
  messageKeysFromRetentionKey,
  parseRetentionKey,
  retentionRanges,
  sendIdOfEventBatchRetentionKey,
  sendUrlKey,
  TIME_BYTES,
  urlRowKey,
  verdictKeyFromRetentionKey,
} from './keys.js';
import { eventBatchPuts, type ExpiredRow, type WriteItem } from './store-writer.js';
import { sendIdAt } from './send-aggregates.js';
import type { SweepResult } from './types.js';
import { decodeUrlRow, splitEventBatch } from './values.js';

const SWEEP_CHUNK = 1000;
/** Where the sendId starts in a `t!b!`, `t!e!` or `t!m!` retention key: after the prefix and the time. */
const RETENTION_SEND_AT = 4 + TIME_BYTES;

/** The writes that remove what a chunk of index keys points at, and how many records that is (default: one per key). */
type SweepDeletes = { ops: LevelOperation[]; expiredRows: ExpiredRow[]; removed?: number };

/** Deletes what is older than `olderThan`. The caller empties its read caches afterwards. */
export async function sweepStore(level: LevelDatabase<WriteItem>, olderThan: Date): Promise<SweepResult> {
  await level.read(() => encodeTime(olderThan)); // a cutoff out of range is refused before anything is read
  const cutoff = olderThan.getTime();
  // Sends that lose events or messages get their running aggregates rebuilt from what is left.
  const touched = new Set<string>();
  const batches = await sweepIndex(level, retentionRanges.eventBatches(olderThan), async (keys) => {
    const recordKeys = keys.map(eventBatchKeyFromRetentionKey);
    const values = await level.db.getMany(recordKeys);
    const ops: LevelOperation[] = [];
    let removed = 0;
    keys.forEach((key, i) => {
      touched.add(sendIdAt(key, RETENTION_SEND_AT));
      ops.push(del(key), del(recordKeys[i]!));
      const value = values[i];
      if (value === undefined) return;
      // A record with events on both sides of the cutoff is written again with the newer ones.
      const events = splitEventBatch(value);
      const kept = events.filter((e) => e.timeMs >= cutoff);
      removed += events.length - kept.length;
      if (kept.length > 0) ops.push(...eventBatchPuts(sendIdOfEventBatchRetentionKey(key), kept));
    });
    return { ops, expiredRows: [], removed };
  });
  await sweepIndex(level, retentionRanges.verdicts(olderThan), (keys) => ({
    ops: keys.flatMap((key) => [del(key), del(verdictKeyFromRetentionKey(key))]),
    expiredRows: [],
  }));
  const singles = await sweepIndex(level, retentionRanges.events(olderThan), (keys) => ({
    ops: keys.flatMap((key) => {
      touched.add(sendIdAt(key, RETENTION_SEND_AT));
      return [del(key), del(eventKeyFromRetentionKey(key))];
    }),
    expiredRows: [],
  }));
  const messages = await sweepIndex(level, retentionRanges.messages(olderThan), (keys) => ({
    ops: keys.flatMap((key) => {
      touched.add(sendIdAt(key, RETENTION_SEND_AT));
      const { id, sendMessageKey: indexKey } = messageKeysFromRetentionKey(key);
      return [del(key), del(messageKey(id)), del(indexKey)];
    }),
    expiredRows: [],
  }));
  const urlRows = await sweepIndex(level, retentionRanges.urlRows(olderThan), async (keys) => {
    const entries = keys.map(parseRetentionKey);
    const values = await level.db.getMany(entries.map((e) => urlRowKey(e.id)));
    const expiredRows: ExpiredRow[] = [];
    entries.forEach((entry, i) => {
      const value = values[i];
      if (value === undefined) return;
      const row = decodeUrlRow(entry.id, value);
      // A row rewritten since this entry was made has a newer entry of its own; keep it.
      if (row.time.getTime() > entry.time.getTime()) return;
      expiredRows.push({
        id: entry.id,
        timeMs: row.time.getTime(),
        ops: [del(urlRowKey(entry.id)), del(sendUrlKey(encodeSendId(row.sendId), entry.id))],
      });
    });
    return { ops: keys.map(del), expiredRows };
  });
  if (touched.size > 0) await level.submit({ kind: 'rebuild', sendIds: [...touched] });
  return { events: batches.entries + singles.entries, messages: messages.entries, urlRows: urlRows.rowsDeleted };
}

/**
 * Deletes an index range chunk by chunk, through the committer so deletes are ordered with writes.
 * Every key read is deleted, so each pass starts at the range's beginning again.
 */
async function sweepIndex(
  level: LevelDatabase<WriteItem>,
  range: { gte: Buffer; lt: Buffer },
  deletesFor: (keys: Buffer[]) => SweepDeletes | Promise<SweepDeletes>,
): Promise<{ entries: number; rowsDeleted: number }> {
  const swept = { entries: 0, rowsDeleted: 0 };
  for (;;) {
    const keys = await level.read((db) => db.keys({ ...range, limit: SWEEP_CHUNK }).all());
    if (keys.length === 0) return swept;
    const { removed, ...deletes } = await level.read(() => deletesFor(keys));
    const item = { kind: 'delete' as const, ...deletes, rowsDeleted: 0 };
    await level.submit(item);
    swept.entries += removed ?? keys.length;
    swept.rowsDeleted += item.rowsDeleted;
    if (keys.length < SWEEP_CHUNK) return swept;
  }
}

function del(key: Buffer): LevelDel {
  return { type: 'del', key };
}
