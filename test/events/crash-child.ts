/**
 * Child process for crash.test.ts: opens the feed in DIR, delivers it to a webhook at URL (and to a JSONL
 * file at JSONL, when given) and, with COUNT > 0, appends events FIRST..FIRST+COUNT-1 in bursts of 10,
 * printing "appended <last>" after each burst is acknowledged. Prints "ready" once delivery runs. The test
 * SIGKILLs it.
 *
 *   node --import tsx test/events/crash-child.ts DIR URL FIRST COUNT [JSONL]
 */
import { EventDelivery, EventFeed, JsonlSink, WebhookSink, type Sink } from '../../src/events/index.js';
import { makeEvent } from './fixtures-core.js';

const [dir, url, first, count, jsonlPath] = process.argv.slice(2);
if (!dir || !url || first === undefined || count === undefined) throw new Error('usage: crash-child.ts DIR URL FIRST COUNT [JSONL]');

const feed = new EventFeed(dir);
await feed.open();
const sinks: Sink[] = [
  new WebhookSink({ name: 'hook', url, secret: 'whsec-test-1', batchSize: 20, lingerMs: 0, timeoutMs: 2000, backoff: { baseMs: 30, maxMs: 200 } }),
];
if (jsonlPath) sinks.push(new JsonlSink({ path: jsonlPath, fsync: 'never', batchSize: 7 }));
new EventDelivery(feed, sinks).start();
process.stdout.write('ready\n');

for (let n = Number(first); n < Number(first) + Number(count); n += 10) {
  await feed.append(Array.from({ length: 10 }, (_, i) => makeEvent(n + i)));
  process.stdout.write(`appended ${n + 9}\n`);
}
