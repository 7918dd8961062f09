import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { EventDelivery, EventFeed, JsonlSink, type FsyncPolicy } from '../../src/events/index.js';
import { idOf, makeEvent, onCleanup, openFeed, range, tempDir, until } from './fixtures.js';

function lines(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  expect(text === '' || text.endsWith('\n')).toBe(true);
  return text.split('\n').filter(Boolean);
}

const ids = (file: string): string[] => lines(file).map((line) => (JSON.parse(line) as { id: string }).id);

function startJsonl(feed: EventFeed, file: string, fsync: FsyncPolicy = 'always', batchSize = 50) {
  const sink = new JsonlSink({ path: file, fsync, batchSize, backoff: { baseMs: 20, maxMs: 100 } });
  const delivery = new EventDelivery(feed, [sink]);
  delivery.start();
  onCleanup(() => delivery.close());
  return { sink, delivery };
}

describe('JSONL sink', () => {
  for (const fsync of ['always', 'never', 25] as const) {
    it(`writes every appended event exactly once, in order, one JSON object a line (fsync ${fsync})`, async () => {
      const dir = tempDir();
      const file = path.join(dir, 'events.jsonl');
      const feed = await openFeed(path.join(dir, 'outbox'));
      const { delivery } = startJsonl(feed, file, fsync);
      await Promise.all(range(0, 30).map((burst) => feed.append(range(burst * 10, 10).map((n) => makeEvent(n)))));
      await until('all written', () => delivery.stats().sinks[0]!.queueDepth === 0);
      await delivery.close();
      expect(ids(file)).toEqual(range(0, 300).map((n) => idOf(n)));
      // A line is the event JSON, newlines inside values escaped.
      expect(JSON.parse(lines(file)[2]!)).toMatchObject({ id: idOf(2), type: 'click', url: 'https://shop.example/p/2?q="x"\n' });
    });
  }

  it('goes on in a new file after rename and reopen(), losing and splitting no line', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'events.jsonl');
    const feed = await openFeed(path.join(dir, 'outbox'));
    const { sink, delivery } = startJsonl(feed, file, 'never', 7);

    let appending = true;
    let next = 0;
    const appender = (async () => {
      while (appending) {
        await feed.append(range(next, 5).map((n) => makeEvent(n)));
        next += 5;
        await sleep(1);
      }
    })();
    const rotated: string[] = [];
    for (let i = 1; i <= 4; i++) {
      await sleep(60);
      const name = `${file}.${i}`;
      renameSync(file, name);
      rotated.push(name);
      await sink.reopen();
    }
    await sleep(60);
    appending = false;
    await appender;
    await until('all written', () => delivery.stats().sinks[0]!.queueDepth === 0);
    await delivery.close();

    const perFile = [...rotated, file].map(ids);
    // Each file got some of the stream (rotation took effect), the newest file the end of it.
    for (const written of perFile) expect(written.length).toBeGreaterThan(0);
    expect(perFile.flat()).toEqual(range(0, next).map((n) => idOf(n)));
    expect(perFile.at(-1)!.at(-1)).toBe(idOf(next - 1));
  });

  it('does not write a batch twice when the process died between writing it and moving the cursor', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'events.jsonl');
    const outbox = path.join(dir, 'outbox');
    let feed = new EventFeed(outbox);
    await feed.open();
    feed.attachSinks(['jsonl']);
    await feed.append(range(0, 20).map((n) => makeEvent(n)));
    // Batches of 8: the first is written and its cursor moved; the second is written, then "SIGKILL".
    const crashed = new JsonlSink({ path: file, fsync: 'always', batchSize: 8 });
    const firstBatch = await feed.read(0, 8);
    await crashed.deliver(firstBatch);
    await feed.advance('jsonl', 8);
    await crashed.deliver(await feed.read(8, 8));
    await crashed.close();
    await feed.close();
    expect(ids(file)).toEqual(range(0, 16).map((n) => idOf(n)));

    feed = await openFeed(outbox);
    const { delivery } = startJsonl(feed, file, 'always', 8);
    await until('all written', () => delivery.stats().sinks[0]!.queueDepth === 0);
    await delivery.close();
    expect(ids(file)).toEqual(range(0, 20).map((n) => idOf(n)));
  });

  it('removes an unfinished last line before writing on', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'events.jsonl');
    const feed = await openFeed(path.join(dir, 'outbox'));
    await feed.append([makeEvent(0), makeEvent(1)]);
    const [whole, cut] = (await feed.read(0, 2)).map((entry) => JSON.stringify(entry.event));
    // The first event is on disk whole, the second cut short, as a power loss mid-write leaves it.
    writeFileSync(file, `${whole}\n${cut!.slice(0, 40)}`);
    const { delivery } = startJsonl(feed, file);
    await until('written', () => delivery.stats().sinks[0]!.queueDepth === 0);
    await delivery.close();
    expect(ids(file)).toEqual([idOf(0), idOf(1)]);
  });

  it('retries a write that fails (directory missing) and delivers once it can', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'later', 'events.jsonl');
    const feed = await openFeed(path.join(dir, 'outbox'));
    const { delivery } = startJsonl(feed, file);
    await feed.append([makeEvent(0)]);
    await until('a failed attempt', () => delivery.stats().sinks[0]!.retried > 0);
    expect(delivery.stats().sinks[0]!.lastError).toContain('EEVENTS_FILE_IO');
    mkdirSync(path.dirname(file));
    await until('written', () => delivery.stats().sinks[0]!.queueDepth === 0);
    expect(ids(file)).toEqual([idOf(0)]);
  });
});
