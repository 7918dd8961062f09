/**
 * Child process for crash.test.ts: writes messages (each with URL rows) and click events as fast as it
 * can, several at a time so they share batches, and prints the number of each message whose write was
 * acknowledged. The test SIGKILLs it mid-stream.
 *
 *   node --import tsx test/store/crash-writer.ts DIR FIRST_NUMBER
 */
import { LevelTrackStore } from '../../src/store/index.js';
import { event, message, urlRow } from './fixtures-core.js';

const [dir, first] = process.argv.slice(2);
if (!dir || !first) throw new Error('usage: crash-writer.ts DIR FIRST_NUMBER');
const store = new LevelTrackStore(dir);
await store.open();
process.stdout.write('ready\n');

const CONCURRENCY = 8;
let next = Number(first);
async function writer(): Promise<void> {
  for (;;) {
    const n = next++;
    const sendId = `s${n % 3}`;
    const rows = [urlRow(sendId, `https://x.example/${n % 50}?u=${n}`), urlRow(sendId, `https://x.example/only/${n}`)];
    await Promise.all([
      store.recordMessage(message(n, sendId), rows),
      store.recordEvents([event(sendId, new Date(1_700_000_000_000 + n), { recipient: `r${n}@example.com` })]),
    ]);
    process.stdout.write(`${n}\n`);
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, writer));
