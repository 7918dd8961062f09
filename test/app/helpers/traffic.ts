// What reaches a running daemon from outside: a message from the MTA over the milter protocol, a
// person's browser over HTTP (fetch, redirects not followed), and raw bytes over a socket.
import net from 'node:net';
import { MilterClient, type MessageResult } from '../../../src/milter/client.js';
import { BROWSER_UA, SEND, type Newsletter } from './newsletter.js';

/** Sends one message with one recipient through the daemon's milter, as Postfix would. */
export async function sendThroughMilter(milterPort: number, message: Newsletter, recipients: string[] = [SEND.recipient]): Promise<MessageResult> {
  const client = await MilterClient.connect({ kind: 'inet', host: '127.0.0.1', port: milterPort });
  try {
    await client.negotiate();
    return await client.sendMessage({
      connect: { hostname: 'mta.shop.example', family: 'inet', port: 52344, address: '192.0.2.10' },
      helo: 'mta.shop.example',
      from: SEND.sender,
      recipients,
      headers: message.headers,
      body: message.body,
      macros: { M: { i: '4ZXk1Q2bKvz8' } },
    });
  } finally {
    await client.quit();
  }
}

export interface HttpAnswer {
  status: number;
  location: string | null;
  contentType: string | null;
  cacheControl: string | null;
  retryAfter: string | null;
  body: Buffer;
}

/** One request as a browser makes it, without following a redirect. */
export async function browse(
  url: string,
  options: { method?: 'GET' | 'HEAD'; userAgent?: string; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  const res = await fetch(url, {
    method: options.method ?? 'GET',
    redirect: 'manual',
    headers: { 'User-Agent': options.userAgent ?? BROWSER_UA, ...options.headers },
  });
  const body = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    location: res.headers.get('location'),
    contentType: res.headers.get('content-type'),
    cacheControl: res.headers.get('cache-control'),
    retryAfter: res.headers.get('retry-after'),
    body,
  };
}

export interface RawAnswer {
  /** The response head, byte for byte (latin1), without the blank line. */
  head: string;
  headLines: string[];
  body: Buffer;
}

/**
 * Writes raw request bytes and reads until the server closes (or timeoutMs passes). The request should
 * say `Connection: close`; the socket is not half-closed, since node's server drops a request whose
 * client half-closes before the answer is ready.
 */
export function rawExchange(port: number, request: string | Buffer, timeoutMs = 10_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close from the server within ${timeoutMs} ms; got ${Buffer.concat(chunks).toString('latin1').slice(0, 300)}`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined); // a reset after the answer is the server's right
    socket.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      const head = (end < 0 ? all : all.subarray(0, end)).toString('latin1');
      resolve({ head, headLines: head.split('\r\n'), body: end < 0 ? Buffer.alloc(0) : all.subarray(end + 4) });
    });
  });
}

/** The path and query of an absolute URL, as they appear in a request line. */
export function requestTarget(url: string): string {
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
}

/** The text of a GIF89a of 1x1 pixel: what every open must get back. */
export function isOnePixelGif(body: Buffer): boolean {
  return body.length === 43 && body.subarray(0, 6).toString('latin1') === 'GIF89a' && body.readUInt16LE(6) === 1 && body.readUInt16LE(8) === 1;
}
