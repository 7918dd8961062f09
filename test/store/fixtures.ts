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
