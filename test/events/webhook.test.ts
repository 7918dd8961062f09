import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { EventDelivery, EventFeed, EventsErrorCode, verifyWebhookSignature, WebhookSink, type WebhookSinkOptions } from '../../src/events/index.js';
import { idOf, makeEvent, onCleanup, openFeed, range, tempDir, until } from './fixtures.js';
import { TestReceiver } from './receiver.js';

const SECRET = 'whsec-test-1';

async function startReceiver(): Promise<TestReceiver> {
  const receiver = new TestReceiver(SECRET);
  await receiver.start();
  onCleanup(() => receiver.stop());
  return receiver;
}

function startDelivery(feed: EventFeed, receiver: TestReceiver, options: Partial<WebhookSinkOptions> = {}) {
  const sink = new WebhookSink({
    name: 'hook',
    url: receiver.url,
    secret: SECRET,
    batchSize: 25,
    lingerMs: 20,
    timeoutMs: 2000,
    backoff: { baseMs: 40, maxMs: 250 },
    ...options,
  });
  const delivery = new EventDelivery(feed, [sink]);
  delivery.start();
  onCleanup(() => delivery.close({ deadlineMs: 100 }));
  return delivery;
}

describe('webhook sink', () => {
  it('queues events while the receiver refuses connections and then answers 503, and delivers them all in order once it is back', async () => {
    const receiver = await startReceiver();
    const feed = await openFeed();
    await receiver.stop(); // connections refused from here on
    const delivery = startDelivery(feed, receiver);

    const appended: number[] = [];
    const appendBurst = async (from: number) => {
      const numbers = range(from, 40);
      await feed.append(numbers.map((n) => makeEvent(n)));
      appended.push(...numbers);
    };
    await appendBurst(0);
    await sleep(700);
    await appendBurst(40);
    expect(delivery.stats().sinks[0]).toMatchObject({ delivered: 0, queueDepth: 80 });
    expect(delivery.stats().sinks[0]!.lastError).toContain(EventsErrorCode.HTTP_NETWORK);

    // Back, but failing.
    receiver.answer = () => 503;
    await receiver.start();
    await until('503 answers', () => receiver.requests.length >= 2);
    await appendBurst(80);
    expect(receiver.acceptedIds()).toEqual([]);

    receiver.answer = () => 200;
    await appendBurst(120);
    await until('every event delivered', () => receiver.acceptedIds().length >= appended.length);
    await appendBurst(160); // and delivery goes on
    await until('the last burst', () => receiver.acceptedIds().length >= appended.length);

    expect(receiver.acceptedIds()).toEqual(appended.map((n) => idOf(n)));
    for (const request of receiver.requests) {
      expect(request.signatureValid).toBe(true);
      expect(verifyWebhookSignature({ secret: SECRET, timestamp: request.timestamp, signature: request.signature, body: request.body })).toBe(true);
      expect(request.ids.length).toBeLessThanOrEqual(25);
    }
    await until('cursor advanced', () => delivery.stats().sinks[0]!.queueDepth === 0);
    const stats = delivery.stats();
    expect(stats.sinks[0]).toMatchObject({ delivered: 200, deadLettered: 0, queueDepth: 0, lastError: undefined });
    expect(stats.sinks[0]!.retried).toBeGreaterThanOrEqual(3);
    // Every sink has passed every entry: the outbox is empty.
    await until('trimmed', () => feed.stats().retained === 0);
    expect(await feed.read(0, 10)).toEqual([]);
  });

  it('posts the documented body: {"events": [...]} of event JSON', async () => {
    const receiver = await startReceiver();
    const feed = await openFeed();
    startDelivery(feed, receiver, { lingerMs: 200 });
    await feed.append([makeEvent(2)]);
    await feed.append([makeEvent(3)]);
    await until('one request', () => receiver.requests.length === 1);
    const body = JSON.parse(receiver.requests[0]!.body) as { events: Record<string, unknown>[] };
    // Lingering put both appends in one POST.
    expect(body.events.map((e) => e.id)).toEqual([idOf(2), idOf(3)]);
    expect(body.events[0]).toMatchObject({ type: 'click', greenarrowType: 'engine_click', recipient: 'r2@example.com', time: '2023-11-14T22:13:20.002Z' });
    expect(body.events[1]).toMatchObject({ type: 'bounce', greenarrowType: 'bounce_bad_address', status: '5.1.1' });
  });

  it('times out on a receiver that hangs, retries, and goes on delivering', async () => {
    const receiver = await startReceiver();
    const feed = await openFeed();
    let hangs = 2;
    receiver.answer = () => (hangs-- > 0 ? 'hang' : 200);
    const delivery = startDelivery(feed, receiver, { timeoutMs: 300 });
    await feed.append(range(0, 10).map((n) => makeEvent(n)));
    await until('delivered', () => receiver.acceptedIds().length === 10);
    await feed.append(range(10, 5).map((n) => makeEvent(n)));
    await until('delivered', () => receiver.acceptedIds().length === 15);
    await until('cursor advanced', () => delivery.stats().sinks[0]!.queueDepth === 0);

    expect(receiver.acceptedIds()).toEqual(range(0, 15).map((n) => idOf(n)));
    expect(receiver.requests.slice(0, 3).map((r) => r.answered)).toEqual(['hang', 'hang', 200]);
    // Each retry is the same batch, signed anew.
    expect(receiver.requests[2]!.ids).toEqual(receiver.requests[0]!.ids);
    expect(receiver.requests[2]!.receivedAt - receiver.requests[0]!.receivedAt).toBeGreaterThanOrEqual(600);
    expect(delivery.stats().sinks[0]).toMatchObject({ retried: 2, delivered: 15 });
  });

  it('dead-letters a batch that still fails after the configured age and moves on', async () => {
    const receiver = await startReceiver();
    const feed = await openFeed();
    receiver.answer = () => 500;
    const delivery = startDelivery(feed, receiver, { deadLetterAfterMs: 400, lingerMs: 0 });
    await feed.append(range(0, 5).map((n) => makeEvent(n)));
    await until('dead-lettered', () => delivery.stats().sinks[0]!.deadLettered === 5);
    const failedRequests = receiver.requests.length;
    expect(failedRequests).toBeGreaterThanOrEqual(2);

    receiver.answer = () => 200;
    await feed.append(range(5, 5).map((n) => makeEvent(n)));
    await until('later events delivered', () => receiver.acceptedIds().length === 5);
    await until('cursor advanced', () => delivery.stats().sinks[0]!.queueDepth === 0);
    expect(receiver.acceptedIds()).toEqual(range(5, 5).map((n) => idOf(n)));

    const letters = [];
    for await (const letter of feed.deadLetters('hook')) letters.push(letter);
    expect(letters.map((l) => l.event.id)).toEqual(range(0, 5).map((n) => idOf(n)));
    expect(letters[0]).toMatchObject({ seq: 1, attempts: failedRequests, reason: expect.stringContaining('500') });
    expect(letters[0]!.deadAt - letters[0]!.appendedAt).toBeGreaterThanOrEqual(400);
    expect(delivery.stats().sinks[0]).toMatchObject({ deadLettered: 5, delivered: 5, queueDepth: 0 });
  });

  it('close() waits for a delivery in flight until its deadline, then aborts it; the batch comes again after a restart', async () => {
    const receiver = await startReceiver();
    const dir = tempDir();
    const feed = new EventFeed(dir);
    await feed.open();
    receiver.answer = () => 'hang';
    const delivery = new EventDelivery(feed, [new WebhookSink({ name: 'hook', url: receiver.url, secret: SECRET, lingerMs: 0, timeoutMs: 10_000 })]);
    delivery.start();
    await feed.append([makeEvent(1)]);
    await until('request in flight', () => receiver.requests.length === 1);
    const started = Date.now();
    await delivery.close({ deadlineMs: 300 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(feed.cursor('hook')).toBe(0);
    await feed.close();

    // A slow answer that comes before the deadline counts as delivered.
    receiver.answer = () => ({ status: 200, delayMs: 300 });
    const again = await openFeed(dir);
    const restarted = startDelivery(again, receiver);
    await until('redelivered', () => receiver.requests.length === 2);
    await restarted.close({ deadlineMs: 2000 });
    expect(receiver.acceptedIds()).toEqual([idOf(1)]);
    expect(again.cursor('hook')).toBe(1);
  });

  it('refuses bad options with coded errors', () => {
    const base = { name: 'hook', url: 'http://127.0.0.1:1/', secret: 's' };
    expect(() => new WebhookSink({ ...base, url: 'ftp://x/' })).toThrow(expect.objectContaining({ code: EventsErrorCode.INVALID }));
    expect(() => new WebhookSink({ ...base, url: 'not a url' })).toThrow(expect.objectContaining({ code: EventsErrorCode.INVALID }));
    expect(() => new WebhookSink({ ...base, secret: '' })).toThrow(expect.objectContaining({ code: EventsErrorCode.INVALID }));
    expect(() => new WebhookSink({ ...base, batchSize: 0 })).toThrow(expect.objectContaining({ code: EventsErrorCode.INVALID }));
  });
});
