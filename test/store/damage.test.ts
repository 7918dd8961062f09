import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LevelTrackStore } from '../../src/store/index.js';
import { collect, event, message, openStore, tempDir, urlRow } from './fixtures.js';

const open: LevelTrackStore[] = [];
afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
});

/** A closed store holding 200 messages, left in its write-ahead log (no compaction has run). */
async function storeWithLog(): Promise<string> {
  const dir = tempDir();
  const store = await openStore(dir);
  for (let i = 0; i < 200; i++) await store.recordMessage(message(i, 's1'), [urlRow('s1', `https://x.example/${i}`)]);
  await store.close();
  return dir;
}

/** The same, reopened once so LevelDB moved the log into a table file (.ldb). */
async function storeWithTable(): Promise<string> {
  const dir = await storeWithLog();
  await (await openStore(dir)).close();
  return dir;
}

const filesEnding = (dir: string, suffix: string): string[] => readdirSync(dir).filter((n) => n.endsWith(suffix));

function overwrite(file: string, at: number, length: number): void {
  const bytes = readFileSync(file);
  bytes.fill(0x5a, at, Math.min(at + length, bytes.length));
  writeFileSync(file, bytes);
}

function snapshot(dir: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (const name of readdirSync(dir)) if (name !== 'LOG' && name !== 'LOG.old') files[name] = readFileSync(path.join(dir, name));
  return files;
}

async function expectOpenToFail(dir: string, code: string, options = {}): Promise<Error> {
  const store = new LevelTrackStore(dir, options);
  const err = (await store.open().then(
    () => {
      open.push(store);
      throw new Error('store opened');
    },
    (e: unknown) => e,
  )) as Error & { code: string };
  expect(err.code).toBe(code);
  expect(err.message).toContain(dir);
  return err;
}

describe('a directory held by another store', () => {
  it('refuses with ESTORE_LOCKED naming the directory, and the first store keeps working', async () => {
    const dir = tempDir();
    const first = await openStore(dir);
    open.push(first);
    const err = await expectOpenToFail(dir, 'ESTORE_LOCKED');
    expect(err.message).toMatch(/locked by another process/);
    expect((err.cause as { cause?: { code?: string } }).cause?.code).toBe('LEVEL_LOCKED');
    await first.recordEvents([event('s1', new Date(1))]);
    expect(await collect(first.eventsBySendId('s1'))).toHaveLength(1);
  });
});

describe('a damaged directory', () => {
  it('refuses to open when CURRENT holds garbage', async () => {
    const dir = await storeWithLog();
    writeFileSync(path.join(dir, 'CURRENT'), 'garbage garbage');
    const err = await expectOpenToFail(dir, 'ESTORE_CORRUPT');
    expect(err.message).toMatch(/CURRENT/);
  });

  it('refuses to open when CURRENT is missing, instead of starting an empty database', async () => {
    const dir = await storeWithTable();
    rmSync(path.join(dir, 'CURRENT'));
    const err = await expectOpenToFail(dir, 'ESTORE_CORRUPT');
    expect(err.message).toMatch(/CURRENT file is missing/);
  });

  it('refuses to open when the write-ahead log has garbage in it, and leaves every file as it was', async () => {
    const dir = await storeWithLog();
    const [log] = filesEnding(dir, '.log');
    expect(statSync(path.join(dir, log!)).size).toBeGreaterThan(10_000);
    overwrite(path.join(dir, log!), 5000, 3000);
    const before = snapshot(dir);
    const err = await expectOpenToFail(dir, 'ESTORE_CORRUPT');
    expect(err.message).toMatch(/write-ahead log .*checksum mismatch/);
    // LevelDB itself would have dropped the damaged records and deleted the log.
    expect(snapshot(dir)).toEqual(before);
  });

  it('refuses to open when MANIFEST holds garbage', async () => {
    const dir = await storeWithTable();
    const [manifest] = readdirSync(dir).filter((n) => n.startsWith('MANIFEST-'));
    overwrite(path.join(dir, manifest!), 0, 10_000);
    await expectOpenToFail(dir, 'ESTORE_CORRUPT');
  });

  it('a damaged table file fails open with verifyOnOpen, and fails reads with ESTORE_CORRUPT without it', async () => {
    const dir = await storeWithTable();
    const [table] = filesEnding(dir, '.ldb');
    overwrite(path.join(dir, table!), 0, 4000);

    await expectOpenToFail(dir, 'ESTORE_CORRUPT', { verifyOnOpen: true });

    const store = await openStore(dir);
    open.push(store);
    // The garbage covers the table's first blocks, which hold the m! keys (the lowest namespace).
    const readAll = Promise.all(Array.from({ length: 200 }, (_, i) => store.getMessage(message(i, 's1').id)));
    await expect(readAll).rejects.toMatchObject({ code: 'ESTORE_CORRUPT' });
  });

  it('opens a sound store with verifyOnOpen', async () => {
    const dir = await storeWithTable();
    const store = await openStore(dir, { verifyOnOpen: true });
    open.push(store);
    expect(await collect(store.urlRowsBySendId('s1'))).toHaveLength(200);
  });

  it('refuses a directory written with another layout version', async () => {
    const dir = tempDir();
    const { ClassicLevel } = await import('classic-level');
    const db = new ClassicLevel(dir);
    await db.put('v!', '99');
    await db.close();
    await expectOpenToFail(dir, 'ESTORE_VERSION');
  });
});
