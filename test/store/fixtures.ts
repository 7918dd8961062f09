/** Temporary store directories for the store tests, removed after each test. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { LevelTrackStore, type LevelStoreOptions } from '../../src/store/index.js';

export { collect, event, idOf, message, urlRow } from './fixtures-core.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'trackmilter-store-'));
  dirs.push(dir);
  return dir;
}

export async function openStore(dir = tempDir(), options: LevelStoreOptions = {}): Promise<LevelTrackStore> {
  const store = new LevelTrackStore(dir, options);
  await store.open();
  return store;
}

/**
 * A store whose directory `record` wrote through another store, closed, then opened again: its read
 * cache is empty, as after a restart (a store keeps what it writes), so its next reads go to LevelDB.
 * The caller closes it.
 */
export async function openedAfterWriting(record: (writer: LevelTrackStore) => Promise<void>, options: LevelStoreOptions = {}): Promise<LevelTrackStore> {
  const dir = tempDir();
  const writer = await openStore(dir, options);
  try {
    await record(writer);
  } finally {
    await writer.close();
  }
  return openStore(dir, options);
}
