/** Events for the event tests; no vitest imports, so the crash child can use it too. */
import type { SinkEvent } from '../../src/events/index.js';
import type { EventType } from '../../src/store/index.js';

const TYPES: EventType[] = ['click', 'open', 'click', 'bounce', 'complaint', 'unsubscribe'];

/** Event number `n`: its id is 8 bytes of `run` then n, so ids are unique per run and name their n. */
export function makeEvent(n: number, run = 'testrun1'): SinkEvent {
  const id = Buffer.alloc(16);
  id.write(run.padEnd(8, '_').slice(0, 8), 0, 'latin1');
  id.writeBigUInt64BE(BigInt(n), 8);
  const type = TYPES[n % TYPES.length]!;
  const event: SinkEvent = {
    id,
    time: new Date(1_700_000_000_000 + n),
    type,
    sendId: `a${100 + (n % 3)}`,
    listId: 'list7',
    recipient: `r${n}@example.com`,
    emailCode: `code${n}`,
    url: type === 'click' ? `https://shop.example/p/${n}?q="x"\n` : '',
    linkName: type === 'click' ? 'buy – now' : '',
    position: type === 'click' ? (n % 5) + 1 : 0,
    part: type === 'click' ? 'h' : '',
    ip: '192.0.2.7',
    userAgent: 'Mozilla/5.0 (Ünïcode)',
    machine: n % 7 === 0,
  };
  if (event.machine) event.machineReason = 'prefetch';
  if (type === 'bounce')
    Object.assign(event, { status: '5.1.1', classification: n % 4 === 3 ? 'hard' : 'soft', diagnostic: '550 no such user', reportingMta: 'mx.example' });
  if (type === 'complaint') event.feedbackType = 'abuse';
  return event;
}

/** The hex id makeEvent(n, run) gets. */
export function idOf(n: number, run = 'testrun1'): string {
  return Buffer.from(makeEvent(n, run).id).toString('hex');
}

export function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}
