// The fast front answers plain GET and HEAD itself and hands everything else to node:http. These tests
// hold it to node:http's answers, to request order, and to a clean hand-off in the middle of a connection.
// A response from node:http carries `Keep-Alive: timeout=N`; one from the fast front does not, which
// tells the tests who answered.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { FastFront, putFastFrontBefore } from '../../src/redirector/fast-front.js';
import { GIF } from '../../src/redirector/responses.js';
import type { RedirectorServer } from '../../src/redirector/server.js';
import type { RedirectEvent } from '../../src/redirector/types.js';
import { MapResolver, MemorySink, headLines, rawExchange, request, startServer } from './fixtures.js';

const servers: RedirectorServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});
async function start(options: Parameters<typeof startServer>[0] = {}): Promise<RedirectorServer> {
  const server = await startServer({ resolver: links(), events: new MemorySink(), trackingHosts: ['127.0.0.1'], ...options });
  servers.push(server);
  return server;
}

function links(): MapResolver {
  return new MapResolver()
    .add('click1', { kind: 'click', url: 'https://shop.example/sale?a=1&b=two' })
    .add('slow', { kind: 'click', url: 'https://shop.example/slow' })
    .add('open1', { kind: 'open' });
}

/** A connection that sends what it is given and collects what comes back. */
class RawClient {
  private readonly socket: net.Socket;
  private received = '';
  closed = false;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (chunk: Buffer) => (this.received += chunk.toString('latin1')));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => (this.closed = true));
  }

  send(text: string): void {
    this.socket.write(Buffer.from(text, 'latin1'));
  }

  /** Waits until `count` complete responses (heads plus Content-Length bodies; no HEAD here) have arrived. */
  async responses(count: number, timeoutMs = 3000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const split = splitResponses(this.received);
      if (split.length >= count) return split.slice(0, count);
      if (Date.now() > deadline) throw new Error(`got ${split.length} of ${count} responses: ${JSON.stringify(this.received.slice(0, 300))}`);
      await sleep(5);
    }
  }

  end(): void {
    this.socket.destroy();
  }
}

function splitResponses(text: string): string[] {
  const out: string[] = [];
  let at = 0;
  for (;;) {
    const headEnd = text.indexOf('\r\n\r\n', at);
    if (headEnd === -1) return out;
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(at, headEnd))?.[1] ?? 0);
    const end = headEnd + 4 + length;
    if (end > text.length) return out;
    out.push(text.slice(at, end));
    at = end;
  }
}

const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;
const answeredByNode = (response: string): boolean => /\r\nKeep-Alive: timeout=/i.test(response);

describe('the fast front', () => {
  it('answers as node:http does, header for header that matters', async () => {
    const fast = await start();
    const node = await start({ fastFront: false });
    const cases: [string, string][] = [
      ['/c/click1', 'GET'],
      ['/c/click1', 'HEAD'],
      ['/o/open1', 'GET'],
      ['/o/open1', 'HEAD'],
      ['/o/forged', 'GET'],
      ['/c/forged', 'GET'],
      ['/c/forged', 'HEAD'],
      ['/nothing/here', 'GET'],
      ['/healthz', 'GET'],
    ];
    const compared = [
      'location',
      'cache-control',
      'referrer-policy',
      'content-type',
      'content-length',
      'pragma',
      'expires',
      'x-content-type-options',
      'content-security-policy',
    ];
    for (const [path, method] of cases) {
      const [a, b] = await Promise.all([request(fast.port, path, { method }), request(node.port, path, { method })]);
      expect(a.status, `${method} ${path}`).toBe(b.status);
      for (const name of compared) expect(a.headers[name], `${method} ${path} ${name}`).toBe(b.headers[name]);
      expect(a.body.equals(b.body), `${method} ${path} body`).toBe(true);
      expect(a.headers.date).toMatch(/GMT$/);
    }
    // ...and the wrong Host gets the same 404
    const wrongHost = { headers: { host: 'evil.example' } };
    expect((await request(fast.port, '/c/click1', wrongHost)).status).toBe(404);
    // fastFront: false (http.fast_front = false) leaves every request to node:http
    for (const [server, byNode] of [
      [fast, false],
      [node, true],
    ] as const) {
      const client = new RawClient(server.port);
      client.send(get('/c/click1'));
      const [answer] = await client.responses(1);
      expect(answeredByNode(answer!)).toBe(byNode);
      client.end();
    }
  });

  it('serves a keep-alive connection itself and answers pipelined requests in order, each after its own write', async () => {
    const sink = new MemorySink();
    const written: string[] = [];
    // The first click's write is slow; the requests behind it are answered at once but must wait their turn.
    const server = await start({
      events: {
        record: async (events: RedirectEvent[]) => {
          if (events[0]!.url.endsWith('/slow')) await sleep(80);
          written.push(events[0]!.url || 'open');
          await sink.record(events);
        },
      },
    });
    const client = new RawClient(server.port);
    client.send(get('/c/slow') + get('/c/forged') + get('/o/open1') + get('/c/click1'));
    const answers = await client.responses(4);
    expect(answers.map((a) => headLines(a)[0])).toEqual(['HTTP/1.1 302 Found', 'HTTP/1.1 404 Not Found', 'HTTP/1.1 200 OK', 'HTTP/1.1 302 Found']);
    expect(headLines(answers[0]!)).toContain('Location: https://shop.example/slow');
    expect(headLines(answers[3]!)).toContain('Location: https://shop.example/sale?a=1&b=two');
    expect(answers.some(answeredByNode)).toBe(false);
    expect(written).toEqual(['open', 'https://shop.example/sale?a=1&b=two', 'https://shop.example/slow']);
    client.end();
  });

  it('hands a connection to node:http at the first request it does not read, with nothing lost', async () => {
    const server = await start();
    const client = new RawClient(server.port);
    client.send(get('/c/click1'));
    const [first] = await client.responses(1);
    expect(answeredByNode(first!)).toBe(false);
    // A POST with a body, then a GET right behind it in the same write.
    client.send('POST /c/click1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabc' + get('/c/click1'));
    const answers = await client.responses(3);
    expect(headLines(answers[1]!)[0]).toBe('HTTP/1.1 405 Method Not Allowed');
    expect(headLines(answers[2]!)[0]).toBe('HTTP/1.1 302 Found');
    expect(answers.slice(1).every(answeredByNode)).toBe(true);
    expect(server.metrics.render()).toMatch(/trackmilter_http_handed_to_node_total\{reason="unread_head"\} 1/);
    client.end();
  });

  it('hands over a head cut across reads, and node:http completes it', async () => {
    const server = await start();
    const client = new RawClient(server.port);
    client.send('GET /c/cli');
    await sleep(30);
    client.send('ck1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const [answer] = await client.responses(1);
    expect(headLines(answer!)).toContain('Location: https://shop.example/sale?a=1&b=two');
    expect(answeredByNode(answer!)).toBe(true);
    expect(server.metrics.render()).toMatch(/trackmilter_http_handed_to_node_total\{reason="partial_head"\} 1/);
    client.end();
  });

  it('gives a flood of pipelined requests to node:http past 16 unanswered, still answering all in order', async () => {
    const server = await start();
    const client = new RawClient(server.port);
    const paths = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? '/c/click1' : `/c/forged${i}`));
    client.send(paths.map((p) => get(p)).join(''));
    const answers = await client.responses(40);
    expect(answers.map((a) => headLines(a)[0]!.slice(9, 12))).toEqual(paths.map((p) => (p === '/c/click1' ? '302' : '404')));
    expect(answers.slice(0, 16).some(answeredByNode)).toBe(false);
    expect(answers.slice(16).every(answeredByNode)).toBe(true);
    expect(server.metrics.render()).toMatch(/trackmilter_http_handed_to_node_total\{reason="pipelined"\} 1/);
    client.end();
  });

  it('closes after answering when the client asks, and only then', async () => {
    const server = await start();
    const { text } = await rawExchange(server.port, get('/c/click1', 'Connection: close\r\n') + get('/o/open1'));
    const answers = splitResponses(text);
    expect(answers).toHaveLength(1);
    expect(headLines(answers[0]!)).toContain('Connection: close');
    expect(answeredByNode(answers[0]!)).toBe(false);
  });

  it('lets close() wait for a response still owed', async () => {
    const sink = new MemorySink();
    sink.delayMs = 150;
    const server = await startServer({ resolver: links(), events: sink });
    const client = new RawClient(server.port);
    client.send(get('/c/click1'));
    await sleep(30);
    const closing = server.close();
    const [answer] = await client.responses(1);
    await closing;
    expect(headLines(answer!)[0]).toBe('HTTP/1.1 302 Found');
    expect(sink.events).toHaveLength(1);
    await sleep(20);
    expect(client.closed).toBe(true);
  });
});

/**
 * A socket double for what loopback will not show without megabytes of traffic: writes that the kernel
 * does not take at once, so they wait in memory (writableNeedDrain) until 'drain'.
 */
class SlowSocket extends EventEmitter {
  readonly written: string[] = [];
  writableNeedDrain = false;
  paused = false;
  destroyed = false;
  remoteAddress = '192.0.2.9';
  setTimeout(): this {
    return this;
  }
  write(data: string | Buffer): boolean {
    this.written.push(typeof data === 'string' ? data : data.toString('latin1'));
    return !this.writableNeedDrain;
  }
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  end(): this {
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
  /** Data arrives only while not paused, as from a real socket. */
  receive(text: string): void {
    if (!this.paused) this.emit('data', Buffer.from(text, 'latin1'));
  }
}

describe('the fast front under a client that does not read', () => {
  it('stops reading while its answers wait in memory, and reads again on drain', () => {
    const front = new FastFront({
      handle: (_request, out) => out.canned(GIF),
      handOff: () => {
        throw new Error('no hand-off expected');
      },
      maxUrlBytes: 8192,
      maxHeaderBytes: 16384,
      headersTimeoutMs: 1000,
      keepAliveTimeoutMs: 1000,
    });
    const socket = new SlowSocket();
    front.accept(socket as unknown as net.Socket);
    socket.receive(get('/o/a'));
    expect(socket.written).toHaveLength(1);
    expect(socket.paused).toBe(false);

    socket.writableNeedDrain = true; // the kernel is full: what is written now waits in memory
    socket.receive(get('/o/b'));
    expect(socket.written).toHaveLength(2);
    expect(socket.paused).toBe(true);
    socket.receive(get('/o/c')); // not read while paused
    expect(socket.written).toHaveLength(2);

    socket.writableNeedDrain = false;
    socket.emit('drain');
    expect(socket.paused).toBe(false);
    socket.receive(get('/o/c'));
    expect(socket.written).toHaveLength(3);
    expect(socket.written.every((w) => w.startsWith('HTTP/1.1 200 OK'))).toBe(true);
  });
});

describe('putting the fast front before a server', () => {
  const frontOptions = {
    handle: (): void => undefined,
    maxUrlBytes: 8192,
    maxHeaderBytes: 16384,
    headersTimeoutMs: 1000,
    keepAliveTimeoutMs: 1000,
  };

  it("takes node's one connection listener out and routes hand-offs back to it, called on the server", () => {
    const server = new EventEmitter();
    const reached: unknown[] = [];
    server.on('connection', function (this: unknown, socket: unknown) {
      reached.push([this, socket]);
    });
    let handOff: ((socket: net.Socket) => void) | undefined;
    const front = putFastFrontBefore(server, 'connection', (nodeServes) => {
      handOff = nodeServes;
      return new FastFront({ ...frontOptions, handOff: nodeServes });
    });
    expect(front).toBeInstanceOf(FastFront);
    expect(server.listenerCount('connection')).toBe(1);
    const socket = { marker: 'socket' } as unknown as net.Socket;
    handOff!(socket);
    expect(reached).toEqual([[server, socket]]);
  });

  it('changes nothing and returns null when the server has no listener, or more than one', () => {
    for (const count of [0, 2]) {
      const server = new EventEmitter();
      const listeners = Array.from({ length: count }, () => (): void => undefined);
      for (const listener of listeners) server.on('secureConnection', listener);
      let created = false;
      const front = putFastFrontBefore(server, 'secureConnection', (handOff) => {
        created = true;
        return new FastFront({ ...frontOptions, handOff });
      });
      expect(front).toBeNull();
      expect(created).toBe(false);
      expect(server.listeners('secureConnection')).toEqual(listeners);
    }
  });
});
