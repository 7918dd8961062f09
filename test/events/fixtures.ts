/** Temporary directories and open feeds for the event tests, cleaned up after each test. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach } from 'vitest';
import { EventFeed, type EventFeedOptions } from '../../src/events/index.js';

export { idOf, makeEvent, range } from './fixtures-core.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Runs `cleanup` after the test (last registered, first run). */
export function onCleanup(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup);
}

export function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'trackmilter-events-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function openFeed(dir = tempDir(), options: EventFeedOptions = {}): Promise<EventFeed> {
  const feed = new EventFeed(dir, options);
  await feed.open();
  onCleanup(() => feed.close());
  return feed;
}

/** Polls until `done()` is true, or throws `what` after timeoutMs. */
export async function until(what: string, done: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
