// Test doubles and a small HTTP client for the redirector tests: a resolver backed by a map, a sink
// that records in memory after an optional delay, and raw-socket access for what clients hide.
import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../src/util/log.js';
import { RedirectorServer, type RedirectorServerOptions } from '../../src/redirector/server.js';
import type { EventSink, LinkResolver, RedirectEvent, ResolvedLink, TrackingRoute } from '../../src/redirector/types.js';

export class MapResolver implements LinkResolver {
  readonly links = new Map<string, ResolvedLink>();
  readonly seen: TrackingRoute[] = [];
  /** Answer asynchronously (as a store lookup would). */
  async = false;

  add(token: string, link: Partial<ResolvedLink> & Pick<ResolvedLink, 'kind'>): this {
    this.links.set(token, { sendId: 's1', listId: 'l1', recipient: 'rcpt@example.org', emailCode: 'code1', ...link });
    return this;
  }

  resolve(route: TrackingRoute): Promise<ResolvedLink | null> | ResolvedLink | null {
    this.seen.push(route);
    if (route.token.startsWith('THROW')) throw new Error('resolver exploded');
    const link = this.links.get(route.token) ?? null;
    return this.async ? sleep(1).then(() => link) : link;
  }
}

export class MemorySink implements EventSink {
  readonly events: RedirectEvent[] = [];
  /** When each record() call's events were written (ms, performance clock). */
  readonly writtenAt: number[] = [];
  delayMs = 0;
  fail = false;

  /** Verdict changes handed over by the redirector (src/truth), in order; amended: reasons added only. */
  readonly reclassified: RedirectEvent[] = [];
  readonly amended: RedirectEvent[] = [];

  async record(events: RedirectEvent[]): Promise<void> {
    if (this.delayMs > 0) await sleep(this.delayMs);
    if (this.fail) throw Object.assign(new Error('disk on fire'), { code: 'ESTORE_WRITE' });
    this.events.push(...events);
    this.writtenAt.push(performance.now());
  }

  async reclassify(events: RedirectEvent[], publish: boolean): Promise<void> {
    (publish ? this.reclassified : this.amended).push(...events);
  }
}

export async function startServer(options: Partial<RedirectorServerOptions> = {}): Promise<RedirectorServer> {
  const server = new RedirectorServer({ host: '127.0.0.1', port: 0, logger: silentLogger, ...options });
  await server.listen();
  return server;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** performance.now() when the response head arrived. */
  arrivedAt: number;
}

/** One request with node's client (no redirect following, no forbidden-header rules). */
export function request(port: number, path: string, options: { method?: string; headers?: Record<string, string>; agent?: http.Agent } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', ...options.headers },
        agent: options.agent ?? false,
      },
      (res) => {
        const arrivedAt = performance.now();
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), arrivedAt }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Writes bytes on a fresh connection and returns everything read until the server closes it. */
export function rawExchange(port: number, data: string | Buffer, timeoutMs = 5000): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got ${Buffer.concat(chunks).toString('latin1').slice(0, 200)}`));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined); // a reset after the response is fine; 'close' follows
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closedAfterMs: Date.now() - started });
    });
    if (data.length > 0) socket.write(data);
  });
}

/** The response head's lines (status line first), as raw bytes decoded one to one. */
export function headLines(responseText: string): string[] {
  const end = responseText.indexOf('\r\n\r\n');
  return (end === -1 ? responseText : responseText.slice(0, end)).split('\r\n');
}
