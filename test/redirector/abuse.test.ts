import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { RedirectorServer } from '../../src/redirector/server.js';
import { MapResolver, MemorySink, headLines, rawExchange, request, startServer } from './fixtures.js';

let server: RedirectorServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function resolver(): MapResolver {
  return new MapResolver().add('click1', { kind: 'click', url: 'https://shop.example/' }).add('open1', { kind: 'open' });
}

describe('size limits', () => {
  it('answers a request target over maxUrlBytes with 414, whether or not it overflows the head', async () => {
    server = await startServer({ resolver: resolver(), events: new MemorySink(), limits: { maxUrlBytes: 2048, maxHeaderBytes: 8192 } });
    const under = await request(server.port, `/c/click1?${'q'.repeat(1900)}`);
    expect(under.status).toBe(302);
    const over = await rawExchange(server.port, `GET /c/${'a'.repeat(3000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(headLines(over.text)[0]).toBe('HTTP/1.1 414 URI Too Long');
    const huge = await rawExchange(server.port, `GET /c/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(headLines(huge.text)[0]).toBe('HTTP/1.1 414 URI Too Long');
    expect(server.metrics.render()).toContain('trackmilter_http_limit_hits_total{limit="url_too_long"} 2');
  });

  it('answers headers over maxHeaderBytes with 431', async () => {
    server = await startServer({ resolver: resolver(), events: new MemorySink(), limits: { maxHeaderBytes: 4096 } });
    const { text } = await rawExchange(server.port, `GET /c/click1 HTTP/1.1\r\nHost: x\r\nCookie: ${'c'.repeat(6000)}\r\n\r\n`);
    expect(headLines(text)[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    const many = Array.from({ length: 300 }, (_, i) => `X-H${i}: ${'v'.repeat(20)}\r\n`).join('');
    const second = await rawExchange(server.port, `GET /c/click1 HTTP/1.1\r\nHost: x\r\n${many}\r\n`);
    expect(headLines(second.text)[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(server.metrics.render()).toContain('trackmilter_http_limit_hits_total{limit="headers_too_large"} 2');
    expect((await request(server.port, '/c/click1')).status).toBe(302);
  });
});

describe('slow clients', () => {
  const limits = { headersTimeoutMs: 300, requestTimeoutMs: 600, timeoutCheckIntervalMs: 50 };

  it('times out a client that trickles its request head (slowloris)', async () => {
    server = await startServer({ resolver: resolver(), events: new MemorySink(), limits });
    const port = server.port;
    const result = await new Promise<{ text: string; closedAfterMs: number }>((resolve) => {
      const started = Date.now();
      const socket = net.connect(port, '127.0.0.1');
      let text = '';
      const parts = ['GET /c/cli', 'ck1 HTTP/1.1\r\n', 'Host: x\r\n', 'X-A: 1\r\n', 'X-B: 2\r\n', 'X-C: 3\r\n', 'X-D: 4\r\n', 'X-E: 5\r\n'];
      const drip = setInterval(() => {
        const part = parts.shift();
        if (part && socket.writable) socket.write(part);
      }, 100);
      socket.on('data', (chunk) => (text += chunk.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearInterval(drip);
        resolve({ text, closedAfterMs: Date.now() - started });
      });
    });
    expect(headLines(result.text)[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(result.closedAfterMs).toBeLessThan(1500);
    expect(server.metrics.render()).toContain('trackmilter_http_limit_hits_total{limit="timeout"}');
  });

  it('times out a connection that never sends anything', async () => {
    server = await startServer({ resolver: resolver(), events: new MemorySink(), limits });
    const { closedAfterMs } = await rawExchange(server.port, '', 3000);
    expect(closedAfterMs).toBeLessThan(1500);
  });

  it('closes idle keep-alive connections', async () => {
    server = await startServer({ resolver: resolver(), events: new MemorySink(), limits: { ...limits, keepAliveTimeoutMs: 200 } });
    const { text, closedAfterMs } = await rawExchange(server.port, 'GET /c/click1 HTTP/1.1\r\nHost: x\r\n\r\n', 3000);
    expect(headLines(text)[0]).toBe('HTTP/1.1 302 Found');
    expect(closedAfterMs).toBeLessThan(1500);
  });
});

describe('random input', () => {
  it('survives 10,000 random paths without a 5xx', async () => {
    const links = resolver();
    const sink = new MemorySink();
    server = await startServer({ resolver: links, events: sink, trackingHosts: ['127.0.0.1'] });
    const port = server.port;
    // printable ASCII the client lets through, and shapes that reach every branch of the router
    const alphabet = 'abcXYZ019-_.~/?#%&=+:;@!$\'()*,[]{}|^`\\"<>';
    const prefixes = ['/c/', '/o/', '/', '/x/y-', '/c/THROW', '/o/THROW', '/healthz', '/metrics/', '//', '/c//', '/o/o/'];
    const randomPath = (i: number): string => {
      const bytes = randomBytes(1 + (i % 200));
      let tail = '';
      for (const b of bytes) tail += alphabet[b % alphabet.length];
      return (prefixes[i % prefixes.length] ?? '/') + tail;
    };
    const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
    const statuses = new Map<number | 'resolver-503', number>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < 10_000) {
        const i = next++;
        const path = randomPath(i);
        const reply = await request(port, path.replace(/#/g, '%23'), { agent, method: i % 7 === 0 ? 'HEAD' : 'GET' });
        // A resolver that throws (the store unreadable) is a 503 by design; the router must reach it only for a token.
        const status = reply.status === 503 && /^\/[co]\/THROW/.test(path) ? 'resolver-503' : reply.status;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    agent.destroy();
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(10_000);
    expect([...statuses.keys()].filter((status) => status !== 'resolver-503' && status >= 500)).toEqual([]);
    expect(statuses.get(404)).toBeGreaterThan(1000);

    // raw garbage the HTTP client would refuse to send
    for (let i = 0; i < 200; i += 1) {
      const { text } = await rawExchange(port, Buffer.concat([Buffer.from(i % 2 ? 'GET /' : ''), randomBytes(1 + (i % 300)), Buffer.from('\r\n\r\n')]));
      expect(text.startsWith('HTTP/1.1 5'), text.slice(0, 40)).toBe(false);
    }
    expect((await request(port, '/healthz')).status).toBe(200);
    expect((await request(port, '/c/click1')).status).toBe(302);
  }, 60_000);
});
