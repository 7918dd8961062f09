// A damaged outbox (DATA/outbox) is refused at open, as the store is (test/store/damage.test.ts),
// instead of LevelDB recovering it by silently dropping queued events.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventFeed } from '../../src/events/index.js';
import { makeEvent, openFeed, range, tempDir } from './fixtures.js';

/** A closed outbox holding 200 events appended one call at a time, still in its write-ahead log. */
async function outboxWithLog(): Promise<string> {
  const dir = tempDir();
  const feed = new EventFeed(dir);
  await feed.open();
  for (const n of range(0, 200)) await feed.append([makeEvent(n)]);
  await feed.close();
  return dir;
}

function snapshot(dir: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (const name of readdirSync(dir)) if (name !== 'LOG' && name !== 'LOG.old') files[name] = readFileSync(path.join(dir, name));
  return files;
}

async function expectRefused(dir: string): Promise<Error & { code: string }> {
  const feed = new EventFeed(dir);
  const err = (await feed.open().then(
    async () => {
      const kept = (await feed.read(0, 1000)).length;
      await feed.close();
      throw new Error(`the damaged outbox opened, holding ${kept} of 200 events`);
    },
    (e: unknown) => e,
  )) as Error & { code: string };
  expect(err.code).toBe('EEVENTS_FEED_CORRUPT');
  expect(err.message).toContain(dir);
  return err;
}

describe('a damaged outbox', () => {
  it('is refused when its write-ahead log has garbage in it, and every file is left as it was', async () => {
    const dir = await outboxWithLog();
    const [log] = readdirSync(dir).filter((n) => n.endsWith('.log'));
    const file = path.join(dir, log!);
    const bytes = readFileSync(file);
    expect(bytes.length).toBeGreaterThan(10_000);
    bytes.fill(0x5a, 5000, 8000);
    writeFileSync(file, bytes);
    const before = snapshot(dir);
    const err = await expectRefused(dir);
    expect(err.message).toMatch(/write-ahead log .*checksum mismatch/);
    expect(snapshot(dir)).toEqual(before);
  });

  it('is refused when CURRENT is missing, instead of starting an empty outbox', async () => {
    const dir = await outboxWithLog();
    await (await openFeed(dir)).close(); // the log moves into a table file
    rmSync(path.join(dir, 'CURRENT'));
    const err = await expectRefused(dir);
    expect(err.message).toMatch(/CURRENT file is missing/);
  });

  it('a sound outbox opens with every event', async () => {
    const feed = await openFeed(await outboxWithLog());
    expect(await feed.read(0, 1000)).toHaveLength(200);
  });
});
