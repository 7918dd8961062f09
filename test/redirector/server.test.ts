import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { MetricsRegistry } from '../../src/metrics/registry.js';
import type { RedirectorServer } from '../../src/redirector/server.js';
import { MapResolver, MemorySink, headLines, rawExchange, request, startServer } from './fixtures.js';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

let server: RedirectorServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function links(): MapResolver {
  return new MapResolver()
    .add('click1', { kind: 'click', url: 'https://shop.example/sale?a=1&b=two', linkName: 'hero', position: 3, part: 'h' })
    .add('open1', { kind: 'open' })
    .add('pathtok', { kind: 'click', url: 'https://shop.example/summer/shoes-and-bags', position: 1, part: 't' })
    .add('nasty', { kind: 'click', url: 'https://shop.example/a\r\nSet-Cookie: evil=1\r\n\r\n<x> ü/b c' })
    .add('js', { kind: 'click', url: 'javascript:alert(document.cookie)' })
    .add('data', { kind: 'click', url: 'data:text/html;base64,PHNjcmlwdD4=' })
    .add('protorel', { kind: 'click', url: '//evil.example/steal' })
    .add('relative', { kind: 'click', url: '/admin' })
    .add('nourl', { kind: 'click' });
}

describe('clicks', () => {
  it('redirect with 302 exactly to the destination, with no-store and no-referrer', async () => {
    const sink = new MemorySink();
    server = await startServer({ resolver: links(), events: sink });
    const reply = await request(server.port, '/c/click1');
    expect(reply.status).toBe(302);
    expect(reply.headers.location).toBe('https://shop.example/sale?a=1&b=two');
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(reply.headers['referrer-policy']).toBe('no-referrer');
    expect(reply.body.length).toBe(0);
    expect(sink.events).toHaveLength(1);
    expect(sink.events[0]).toMatchObject({
      type: 'click',
      sendId: 's1',
      listId: 'l1',
      recipient: 'rcpt@example.org',
      emailCode: 'code1',
      url: 'https://shop.example/sale?a=1&b=two',
      linkName: 'hero',
      position: 3,
      part: 'h',
      ip: '127.0.0.1',
      machine: false,
    });
    expect(sink.events[0]?.machineReason).toBeUndefined();
    expect(sink.events[0]?.id).toHaveLength(16);
  });

  it('also answer HEAD, flagged as a machine', async () => {
    const sink = new MemorySink();
    server = await startServer({ resolver: links(), events: sink });
    const reply = await request(server.port, '/c/click1', { method: 'HEAD' });
    expect(reply.status).toBe(302);
    expect(reply.headers.location).toBe('https://shop.example/sale?a=1&b=two');
    expect(sink.events[0]).toMatchObject({ type: 'click', machine: true, machineReason: 'head' });
  });

  it('serve path-preserving links and pass their route to the resolver', async () => {
    const resolver = links();
    resolver.async = true;
    const sink = new MemorySink();
    server = await startServer({ resolver, events: sink });
    const reply = await request(server.port, '/summer/shoes-and-bags-pathtok?utm_source=mail');
    expect(reply.status).toBe(302);
    expect(reply.headers.location).toBe('https://shop.example/summer/shoes-and-bags');
    expect(resolver.seen[0]).toEqual({ style: 'path', kind: 'click', token: 'pathtok', query: 'utm_source=mail', path: '/summer/shoes-and-bags-pathtok' });
    expect(sink.events[0]).toMatchObject({ part: 't', position: 1 });
  });

  it('answer unknown, forged and mismatched tokens with a 404 page and no Location', async () => {
    const sink = new MemorySink();
    server = await startServer({ resolver: links(), events: sink });
    for (const path of ['/c/forged', '/c/open1', '/c/nourl', '/c/bad.token', '/nothing-here']) {
      const reply = await request(server.port, path);
      expect(reply.status, path).toBe(404);
      expect(reply.headers.location, path).toBeUndefined();
      expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(reply.body.toString()).toContain('Link not found');
    }
    expect(sink.events).toHaveLength(0);
  });

  it('answer a link the resolver cannot verify now (the store down) with 503 and Retry-After, never a redirect', async () => {
    const sink = new MemorySink();
    server = await startServer({ resolver: links(), events: sink, retryAfterSeconds: 7 });
    for (const path of ['/c/THROWS', '/o/THROWS']) {
      const reply = await request(server.port, path);
      expect(reply.status, path).toBe(503);
      expect(reply.headers['retry-after'], path).toBe('7');
      expect(reply.headers['cache-control'], path).toBe('no-store');
      expect(reply.headers.location, path).toBeUndefined();
    }
    expect(sink.events).toHaveLength(0);
    const metrics = (await request(server.port, '/metrics')).body.toString();
    expect(metrics).toContain('trackmilter_http_requests_total{route="click",status="503"} 1');
    expect(metrics).toContain('trackmilter_http_rejected_total{reason="resolver_error"} 2');
  });

  it('never turn javascript:, data:, protocol-relative or relative URLs into a Location', async () => {
    server = await startServer({ resolver: links(), events: new MemorySink() });
    for (const token of ['js', 'data', 'protorel', 'relative']) {
      const { text } = await rawExchange(server.port, `GET /c/${token} HTTP/1.1\r\nHost: t.example\r\nConnection: close\r\n\r\n`);
      const lines = headLines(text);
      expect(lines[0], token).toBe('HTTP/1.1 404 Not Found');
      expect(
        lines.some((line) => /^location:/i.test(line)),
        token,
      ).toBe(false);
    }
  });

  it('serialize a destination with CR, LF, spaces and non-ASCII into one valid Location header', async () => {
    server = await startServer({ resolver: links(), events: new MemorySink() });
    const { text } = await rawExchange(server.port, 'GET /c/nasty HTTP/1.1\r\nHost: t.example\r\nConnection: close\r\n\r\n');
    const lines = headLines(text);
    expect(lines[0]).toBe('HTTP/1.1 302 Found');
    expect(lines.filter((line) => /^set-cookie/i.test(line))).toEqual([]);
    const locations = lines.filter((line) => /^location:/i.test(line));
    expect(locations).toEqual(['Location: https://shop.example/aSet-Cookie:%20evil=1%3Cx%3E%20%C3%BC/b%20c']);
    // nothing but the empty 302 body follows the head
    expect(text.slice(text.indexOf('\r\n\r\n') + 4)).toBe('');
  });

  it('still redirect when recording fails, and count the failure', async () => {
    const sink = new MemorySink();
    sink.fail = true;
    server = await startServer({ resolver: links(), events: sink });
    const reply = await request(server.port, '/c/click1');
    expect(reply.status).toBe(302);
    expect(server.metrics.render()).toContain('trackmilter_event_record_failures_total 1');
  });
});

describe('opens', () => {
  it('answer with the 43-byte GIF and no-cache headers, and record the open', async () => {
    const sink = new MemorySink();
    server = await startServer({ resolver: links(), events: sink });
    const reply = await request(server.port, '/o/open1');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('image/gif');
    expect(reply.body.length).toBe(43);
    expect(reply.body.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect(reply.headers['cache-control']).toContain('no-store');
    expect(reply.headers['cache-control']).toContain('no-cache');
    expect(reply.headers.pragma).toBe('no-cache');
    expect(reply.headers.expires).toBe('Thu, 01 Jan 1970 00:00:00 GMT');
    expect(sink.events).toHaveLength(1);
    expect(sink.events[0]).toMatchObject({ type: 'open', url: '', machine: false, sendId: 's1', recipient: 'rcpt@example.org' });
  });

  it('answer bad tokens with the GIF too, recording nothing', async () => {
    const sink = new MemorySink();
    server = await startServer({ resolver: links(), events: sink });
    for (const path of ['/o/forged', '/o/click1', '/o/', '/o/not.a.token']) {
      const reply = await request(server.port, path);
      expect(reply.status, path).toBe(200);
      expect(reply.body.length, path).toBe(43);
      expect(reply.headers['content-type']).toBe('image/gif');
    }
    expect(sink.events).toHaveLength(0);
  });

  it('flag the Apple MPP pattern and scanners, and keep Gmail proxy opens human', async () => {
    const sink = new MemorySink();
    server = await startServer({ resolver: links(), events: sink });
    await request(server.port, '/o/open1', { headers: { 'user-agent': 'Mozilla/5.0' } });
    await request(server.port, '/o/open1', { headers: { 'user-agent': 'Mozilla/5.0 (via ggpht.com GoogleImageProxy)' } });
    await request(server.port, '/c/click1', { headers: { 'user-agent': 'Mozilla/5.0 (compatible; Barracuda Sentinel)' } });
    expect(sink.events.map((e) => [e.type, e.machine, e.machineReason])).toEqual([
      ['open', true, 'apple-mpp'],
      ['open', false, undefined],
      ['click', true, 'scanner:barracuda'],
    ]);
  });
});

describe('recording', () => {
  it('writes each event before its response is sent', async () => {
    const sink = new MemorySink();
    sink.delayMs = 150;
    server = await startServer({ resolver: links(), events: sink });
    const started = performance.now();
    const [click, open] = await Promise.all([request(server.port, '/c/click1'), request(server.port, '/o/open1')]);
    expect(click.status).toBe(302);
    expect(open.status).toBe(200);
    expect(sink.writtenAt).toHaveLength(2);
    expect(click.arrivedAt - started).toBeGreaterThanOrEqual(140);
    // each response waits for its own event's write (not for the other's: they are separate batches here)
    const writtenAt = (type: string): number => sink.writtenAt[sink.events.findIndex((e) => e.type === type)] ?? Infinity;
    expect(writtenAt('click')).toBeLessThanOrEqual(click.arrivedAt);
    expect(writtenAt('open')).toBeLessThanOrEqual(open.arrivedAt);
  });

  it('records user agent, flags a fast click and takes the clock from the options', async () => {
    const now = Date.UTC(2025, 0, 2, 3, 4, 5);
    const resolver = new MapResolver()
      .add('early', { kind: 'click', url: 'https://a.example/', deliveredAt: new Date(now - 2_000) })
      .add('late', { kind: 'click', url: 'https://a.example/', deliveredAt: now - 3_600_000 });
    const sink = new MemorySink();
    server = await startServer({ resolver, events: sink, now: () => now, machineFlags: { fastClickSeconds: 5 } });
    await request(server.port, '/c/early', { headers: { 'user-agent': FIREFOX } });
    await request(server.port, '/c/late', { headers: { 'user-agent': FIREFOX } });
    expect(sink.events.map((e) => [e.time.getTime(), e.userAgent, e.machineReason])).toEqual([
      [now, FIREFOX, 'fast-click'],
      [now, FIREFOX, undefined],
    ]);
  });
});

describe('client address', () => {
  it('ignores X-Forwarded-For without a trusted proxy', async () => {
    const sink = new MemorySink();
    server = await startServer({ resolver: links(), events: sink });
    await request(server.port, '/c/click1', { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(sink.events[0]?.ip).toBe('127.0.0.1');
  });

  it('takes the right-most untrusted address from a trusted proxy, and truncates it', async () => {
    const sink = new MemorySink();
    server = await startServer({ resolver: links(), events: sink, trustedProxies: ['127.0.0.0/8', '10.0.0.0/8'] });
    await request(server.port, '/c/click1', { headers: { 'x-forwarded-for': '6.6.6.6, 203.0.113.9, 10.2.3.4' } });
    await request(server.port, '/o/open1', { headers: { 'x-forwarded-for': '17.58.1.2' } });
    expect(sink.events[0]?.ip).toBe('203.0.113.9');
    expect(sink.events[1]).toMatchObject({ ip: '17.58.1.2', machine: true, machineReason: 'apple-mpp' });
    await server.close();

    server = await startServer({ resolver: links(), events: sink, trustedProxies: ['127.0.0.1'], ipTruncation: { ipv4Bits: 24, ipv6Bits: 48 } });
    await request(server.port, '/c/click1', { headers: { 'x-forwarded-for': '203.0.113.99' } });
    await request(server.port, '/c/click1', { headers: { 'x-forwarded-for': '2001:db8:abcd:1234::77' } });
    expect(sink.events.slice(2).map((e) => e.ip)).toEqual(['203.0.113.0', '2001:db8:abcd::']);
  });
});

describe('hosts', () => {
  it('serve only the configured tracking domains, any port, any case', async () => {
    const sink = new MemorySink();
    server = await startServer({ resolver: links(), events: sink, trackingHosts: ['t.example.com', 'click.example.net:8443'] });
    const ok1 = await request(server.port, '/c/click1', { headers: { host: 'T.Example.com:8080' } });
    const ok2 = await request(server.port, '/c/click1', { headers: { host: 'click.example.net' } });
    const wrongClick = await request(server.port, '/c/click1', { headers: { host: 'evil.example' } });
    const wrongOpen = await request(server.port, '/o/open1', { headers: { host: 'evil.example' } });
    expect([ok1.status, ok2.status]).toEqual([302, 302]);
    expect(wrongClick.status).toBe(404);
    expect(wrongClick.headers.location).toBeUndefined();
    expect(wrongOpen.status).toBe(404);
    expect(sink.events).toHaveLength(2);
    const { text } = await rawExchange(server.port, 'GET /c/click1 HTTP/1.0\r\n\r\n');
    expect(headLines(text)[0]).toBe('HTTP/1.1 404 Not Found');
  });

  it('serve any Host when no tracking domain is configured', async () => {
    server = await startServer({ resolver: links(), events: new MemorySink() });
    expect((await request(server.port, '/c/click1', { headers: { host: 'whatever.invalid' } })).status).toBe(302);
  });
});

describe('admin endpoints and methods', () => {
  it('/healthz reports ok with the extra facts', async () => {
    server = await startServer({ health: () => ({ milterSessions: 2 }) });
    const reply = await request(server.port, '/healthz');
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body.toString())).toEqual({ status: 'ok', milterSessions: 2 });
  });

  it('/healthz says degraded with 200 (this host still serves what it can), failing with 503', async () => {
    let status: 'degraded' | 'failing' = 'degraded';
    server = await startServer({ health: () => ({ status, store: { available: false } }) });
    const degraded = await request(server.port, '/healthz');
    expect(degraded.status).toBe(200);
    expect(JSON.parse(degraded.body.toString())).toEqual({ status: 'degraded', store: { available: false } });
    status = 'failing';
    const failing = await request(server.port, '/healthz');
    expect(failing.status).toBe(503);
    expect(JSON.parse(failing.body.toString())).toMatchObject({ status: 'failing' });
  });

  it('/metrics shows requests, latency, events and counters the milter side registers', async () => {
    const registry = new MetricsRegistry();
    const milterMessages = registry.counter('trackmilter_milter_messages_total', 'Messages seen by the milter.');
    server = await startServer({ resolver: links(), events: new MemorySink(), metrics: registry });
    milterMessages.inc(5);
    await request(server.port, '/c/click1');
    await request(server.port, '/c/click1', { method: 'HEAD' });
    await request(server.port, '/c/forged');
    await request(server.port, '/o/open1');
    const reply = await request(server.port, '/metrics');
    expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = reply.body.toString();
    expect(text).toContain('trackmilter_http_requests_total{route="click",status="302"} 2');
    expect(text).toContain('trackmilter_http_requests_total{route="click",status="404"} 1');
    expect(text).toContain('trackmilter_http_requests_total{route="open",status="200"} 1');
    expect(text).toContain('trackmilter_events_recorded_total{type="click",machine="false"} 1');
    expect(text).toContain('trackmilter_events_recorded_total{type="click",machine="true"} 1');
    expect(text).toContain('trackmilter_events_recorded_total{type="open",machine="false"} 1');
    expect(text).toContain('trackmilter_http_rejected_total{reason="unknown_token"} 1');
    expect(text).toContain('trackmilter_http_request_duration_seconds_count 4');
    expect(text).toContain('trackmilter_milter_messages_total 5');
  });

  it('refuses other methods with 405', async () => {
    server = await startServer({ resolver: links(), events: new MemorySink() });
    const reply = await request(server.port, '/c/click1', { method: 'POST' });
    expect(reply.status).toBe(405);
    expect(reply.headers.allow).toBe('GET, HEAD');
  });

  it('keeps connections alive between requests', async () => {
    server = await startServer({ resolver: links(), events: new MemorySink() });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    agent.on('free', (socket) => sockets.add(socket));
    for (let i = 0; i < 5; i += 1) expect((await request(server.port, '/c/click1', { agent })).status).toBe(302);
    expect(sockets.size).toBe(1);
    agent.destroy();
  });

  it('works without resolver or sink (the daemon before wiring): clicks 404, opens GIF', async () => {
    server = await startServer();
    expect((await request(server.port, '/c/abc')).status).toBe(404);
    expect((await request(server.port, '/o/abc')).body.length).toBe(43);
  });
});
