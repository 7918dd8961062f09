/**
 * Memory the machine judge holds per event it keeps (src/truth/judge.ts: every recipient's recent
 * events, up to machine.recipients x 32 of them), with the user agent and address of each event
 * pooled as `serve` does (src/util/string-pool.ts) and, as the reference in the same run, each
 * event's own (the judge pools its networks and clients either way).
 *
 *   npm run bench:judge-memory        BENCH_RECIPIENTS=10000, BENCH_EVENTS=32 per recipient
 *
 * Each event comes from its own browser-like request head (about 500 bytes: user agent, accept
 * headers, a cookie), as a real click does; the user agent is read out of that head the way the fast
 * front reads it. Figures: heap growth after a full GC, divided by the events held.
 */
import { createMachineJudge } from '../src/redirector/machine-flags.js';
import { buildEvent, EventIdSource } from '../src/redirector/build-event.js';
import { recipientKey } from '../src/truth/judge.js';
import { StringPool } from '../src/util/string-pool.js';
import { envInt } from './lib/figures.js';

const RECIPIENTS = envInt('BENCH_RECIPIENTS', 10_000);
const EVENTS = envInt('BENCH_EVENTS', 32);
const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('run with node --expose-gc (npm run bench:judge-memory does)');

function heldBytesPerEvent(pooled: boolean): { bytes: number; held: number } {
  const judge = createMachineJudge({});
  const ids = new EventIdSource();
  const pool = new StringPool(4096);
  const keep = (text: string): string => (pooled ? pool.intern(text) : text);
  const start = Date.now();
  collect!();
  const before = process.memoryUsage().heapUsed;
  for (let e = 0; e < EVENTS; e++) {
    for (let r = 0; r < RECIPIENTS; r++) {
      const head =
        `GET /c/${r}-${e} HTTP/1.1\r\nHost: t.example.org\r\n` +
        'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n' +
        'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n' +
        `Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\nCookie: session=${r}-${e}-0123456789abcdef0123456789abcdef\r\n`;
      const userAgent = keep(head.slice(head.indexOf('User-Agent: ') + 12, head.indexOf('\r\nAccept')));
      // As serve does with http.truncate_ip off (the default): the event keeps the whole address, pooled.
      const fullIp = `198.51.100.${r % 250}`;
      const ip = keep(fullIp);
      const link = {
        kind: 'click' as const,
        url: 'https://shop.example/sale',
        sendId: 'a100525',
        listId: 'list7',
        recipient: `reader${r}@example.org`,
        emailCode: `ec-${r}`,
        linkName: 'hero',
        position: 1,
        part: 'h' as const,
        messageId: `6d657373616765${r}`,
      };
      const now = start + 10_000 + e * 5_000 + r; // one event per recipient every 5 s: all inside the 5-minute window
      const judged = judge.judge({
        kind: 'click',
        method: 'GET',
        userAgent,
        ip: fullIp,
        deliveredAt: start,
        now,
        recipientKey: recipientKey(link.sendId, link.recipient, link.emailCode, link.messageId, fullIp),
        position: 1,
        part: 'h',
        honeypot: false,
      });
      judged.remember(buildEvent(ids.next(), 'click', link, link.url, { time: new Date(now), ip, userAgent, machineReason: judged.machineReason }));
    }
    judge.flush();
  }
  collect!();
  const held = RECIPIENTS * EVENTS;
  return { bytes: (process.memoryUsage().heapUsed - before) / held, held };
}

const plain = heldBytesPerEvent(false);
const pooled = heldBytesPerEvent(true);
console.log(`bench:judge-memory: ${RECIPIENTS.toLocaleString('en')} recipients x ${EVENTS} events held, node ${process.version}`);
console.log(`  each event's own strings ${plain.bytes.toFixed(0).padStart(5)} bytes per event held`);
console.log(`  pooled, as serve runs    ${pooled.bytes.toFixed(0).padStart(5)} bytes per event held (${(pooled.bytes / plain.bytes).toFixed(2)} of that)`);
console.log(
  `  at the defaults' ceiling (machine.recipients 50,000 x 32 events): ${((pooled.bytes * 50_000 * 32) / 2 ** 20).toFixed(0)} MB pooled, ` +
    `${((plain.bytes * 50_000 * 32) / 2 ** 20).toFixed(0)} MB without`,
);
