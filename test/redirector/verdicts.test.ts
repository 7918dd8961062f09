// Machine verdicts through the redirector's HTTP path: OPTIONS, address ranges behind a trusted proxy,
// and follow-ups for events that later evidence turned into machines.
import { afterEach, describe, expect, it } from 'vitest';
import type { RedirectorServer } from '../../src/redirector/server.js';
import { parseRangeFile } from '../../src/truth/address-ranges.js';
import { MapResolver, MemorySink, request, startServer } from './fixtures.js';

let server: RedirectorServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const HOUR_AGO = Date.now() - 3_600_000;
function newsletter(): MapResolver {
  const resolver = new MapResolver().add('open1', { kind: 'open', deliveredAt: HOUR_AGO });
  for (const p of [0, 1, 2, 3]) resolver.add(`link${p}`, { kind: 'click', url: `https://shop.example/${p}`, position: p, part: 'h', deliveredAt: HOUR_AGO });
  return resolver;
}
const via = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });

describe('machine verdicts in the redirector', () => {
  it('answers OPTIONS on a link with what it allows, records it as a machine, and refuses it elsewhere', async () => {
    const sink = new MemorySink();
    server = await startServer({ resolver: newsletter(), events: sink });
    const reply = await request(server.port, '/c/link1', { method: 'OPTIONS' });
    expect(reply.status).toBe(200);
    expect(reply.headers.allow).toBe('GET, HEAD, OPTIONS');
    expect(reply.headers.location).toBeUndefined();
    expect(sink.events.map((e) => [e.type, e.machineReason])).toEqual([['click', 'options']]);
    expect((await request(server.port, '/healthz', { method: 'OPTIONS' })).status).toBe(405);
  });

  it('takes the client address from a trusted proxy for the range lists', async () => {
    const sink = new MemorySink();
    const ranges = [parseRangeFile('v.txt', '# reason: range:vendor\n203.0.113.0/24\n')];
    server = await startServer({ resolver: newsletter(), events: sink, trustedProxies: ['127.0.0.1'], machineFlags: { ranges, burstGapMs: 0 } });
    await request(server.port, '/c/link1', via('203.0.113.9'));
    await request(server.port, '/c/link2', via('198.51.100.7'));
    expect(sink.events.map((e) => [e.ip, e.machineReason])).toEqual([
      ['203.0.113.9', 'range:vendor'],
      ['198.51.100.7', undefined],
    ]);
  });

  it('sends a follow-up with the same id when a burst arrives after the first click', async () => {
    const sink = new MemorySink();
    server = await startServer({ resolver: newsletter(), events: sink, trustedProxies: ['127.0.0.1'] });
    await request(server.port, '/c/link1', via('203.0.113.9'));
    await request(server.port, '/c/link2', via('203.0.113.9'));
    await request(server.port, '/c/link3', via('203.0.113.9'));
    await new Promise((r) => setImmediate(r));
    expect(sink.events.map((e) => e.machineReason)).toEqual([undefined, 'burst', 'burst']);
    expect(sink.reclassified.map((e) => [Buffer.from(e.id).toString('hex'), e.machine, e.machineReason])).toEqual([
      [Buffer.from(sink.events[0]!.id).toString('hex'), true, 'burst'],
    ]);
    const metrics = (await request(server.port, '/metrics')).body.toString();
    expect(metrics).toMatch(/^trackmilter_events_reclassified_total\{type="click"\} 1$/m);
    expect(metrics).toMatch(/^trackmilter_machine_recipients_held 1$/m);
    expect(metrics).toMatch(/^trackmilter_machine_history_overflows_total 0$/m);
  });

  it('sends follow-ups for earlier clicks when the honeypot is hit', async () => {
    const sink = new MemorySink();
    server = await startServer({ resolver: newsletter(), events: sink, trustedProxies: ['127.0.0.1'], machineFlags: { burstGapMs: 0 } });
    // the scanner's clicks from its network (the honeypot's window), one after the other
    await request(server.port, '/c/link1', via('203.0.113.9'));
    await request(server.port, '/c/link2', via('203.0.113.10'));
    await request(server.port, '/c/link0', via('203.0.113.77'));
    await new Promise((r) => setImmediate(r));
    expect(sink.events.map((e) => [e.position, e.machineReason])).toEqual([
      [1, undefined],
      [2, undefined],
      [0, 'honeypot'],
    ]);
    expect(sink.reclassified.map((e) => [e.position, e.machineReason])).toEqual([
      [1, 'honeypot'],
      [2, 'honeypot'],
    ]);
  });
});
