// Shared helpers for the milter tests: a server on a free loopback port with a recording filter,
// raw packet builders, and small waiting helpers.
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { MilterServer, type MilterServerOptions } from '../../src/milter/server.js';
import { MilterClient } from '../../src/milter/client.js';
import type { SocketSpec } from '../../src/milter/address.js';
import type { FilterResult, MessageContext, MessageFilter } from '../../src/milter/filter.js';
import type { Packet } from '../../src/milter/codec.js';
import { silentLogger } from '../../src/util/log.js';

/** A packet built by hand: u32 big-endian length (command byte + data), command byte, data. */
export function frame(code: string, ...parts: Array<Buffer | string | number[]>): Buffer {
  const data = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(data.length + 1, 0);
  head[4] = code.charCodeAt(0);
  return Buffer.concat([head, data]);
}

export function be32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
}

/** Raw MTA commands, written out from the protocol table. */
export const raw = {
  optneg: (version: number, actions: number, protocol: number): Buffer => frame('O', be32(version, actions, protocol)),
  macro: (stage: string, pairs: Record<string, string>): Buffer =>
    frame(
      'D',
      stage,
      Object.entries(pairs)
        .map(([k, v]) => `${k}\0${v}\0`)
        .join(''),
    ),
  connectInet: (host: string, addr: string, port: number): Buffer => frame('C', `${host}\0`, '4', [port >> 8, port & 0xff], `${addr}\0`),
  helo: (name: string): Buffer => frame('H', `${name}\0`),
  mail: (addr: string, ...args: string[]): Buffer => frame('M', [`<${addr}>`, ...args].map((s) => `${s}\0`).join('')),
  rcpt: (addr: string, ...args: string[]): Buffer => frame('R', [`<${addr}>`, ...args].map((s) => `${s}\0`).join('')),
  data: (): Buffer => frame('T'),
  header: (name: string, value: string): Buffer => frame('L', `${name}\0${value}\0`),
  eoh: (): Buffer => frame('N'),
  body: (chunk: Buffer | string): Buffer => frame('B', chunk),
  eom: (): Buffer => frame('E'),
  abort: (): Buffer => frame('A'),
  quit: (): Buffer => frame('Q'),
  quitNc: (): Buffer => frame('K'),
  unknown: (line: string): Buffer => frame('U', `${line}\0`),
};

/** Everything Postfix 3.7 offers (all actions, all protocol steps). */
export const FULL_OFFER = { version: 6, actions: 0x1ff, protocol: 0x1fffff };

/** What the filter saw, copied at call time (macro lookups too, since they read live session state). */
export type Seen = MessageContext & { signal: AbortSignal };

export class RecordingFilter implements MessageFilter {
  readonly seen: Seen[] = [];
  private waiters: Array<() => void> = [];

  constructor(private readonly respond: (ctx: MessageContext, signal: AbortSignal) => Promise<FilterResult> | FilterResult = () => ({})) {}

  endOfMessage(ctx: MessageContext, signal: AbortSignal): Promise<FilterResult> | FilterResult {
    const lookups = new Map<string, string | undefined>();
    // Snapshot every lookup the tests make, with and without braces.
    for (const name of MACRO_NAMES) {
      lookups.set(name, ctx.macro(name));
      if (name.length > 1) lookups.set(`{${name}}`, ctx.macro(`{${name}}`));
    }
    this.seen.push({
      queueId: ctx.queueId,
      connect: ctx.connect ? { ...ctx.connect } : null,
      helo: ctx.helo,
      from: ctx.from ? { address: ctx.from.address, args: [...ctx.from.args] } : null,
      recipients: ctx.recipients.map((r) => ({ address: r.address, args: [...r.args] })),
      headers: ctx.headers.map((h) => ({ ...h })),
      body: Buffer.from(ctx.body),
      ...(ctx.bodyReplaceable !== undefined ? { bodyReplaceable: ctx.bodyReplaceable } : {}),
      macro: (name) => {
        if (!lookups.has(name)) throw new Error(`macro ${name} not snapshotted; add it to MACRO_NAMES`);
        return lookups.get(name);
      },
      signal,
    });
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
    return this.respond(ctx, signal);
  }

  /** Resolves once the filter has been called `count` times in all. */
  async calls(count: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.seen.length < count) {
      if (Date.now() > deadline) throw new Error(`filter called ${this.seen.length} times, expected ${count}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }
}

export const MACRO_NAMES = [
  'j',
  'daemon_name',
  'v',
  'client_addr',
  'client_name',
  'tls_version',
  'cipher',
  'auth_type',
  'mail_addr',
  'mail_host',
  'rcpt_addr',
  'rcpt_host',
  'i',
  'msg_id',
  'eoh_macro',
  'nonexistent',
];

export interface TestServer {
  server: MilterServer;
  spec: SocketSpec;
  connect(): Promise<MilterClient>;
  close(): Promise<void>;
}

export async function startServer(filter: MessageFilter, options: Partial<MilterServerOptions> = {}): Promise<TestServer> {
  const server = new MilterServer({
    listen: { kind: 'inet', host: '127.0.0.1', port: 0 },
    filter,
    logger: silentLogger,
    filterTimeoutMs: 10_000,
    failurePolicy: 'accept',
    maxMessageBytes: 50 * 1024 * 1024,
    ...options,
  });
  await server.listen();
  const spec = server.address;
  if (spec.kind === 'inet') expect(spec.port).toBeGreaterThan(0);
  const clients: MilterClient[] = [];
  return {
    server,
    spec,
    async connect() {
      const c = await MilterClient.connect(spec);
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.destroy();
      await server.close(1000);
    },
  };
}

/** The next packet, or the error that ended the connection. */
export async function nextOrEnd(client: MilterClient, timeoutMs = 5000): Promise<Packet | Error> {
  return client.read(timeoutMs).catch((err: Error) => err);
}

/** The milter must close the connection (EOF or reset), not just go quiet. */
export async function expectClosed(client: MilterClient, timeoutMs = 5000): Promise<void> {
  for (;;) {
    const r = await nextOrEnd(client, timeoutMs);
    if (r instanceof Error) {
      expect((r as Error & { code?: string }).code, r.message).not.toBe('EMILTER_TIMEOUT');
      return;
    }
  }
}

/** Reads the end-of-message packets up to and including the first one that is not a modification. */
export async function readEom(client: MilterClient): Promise<Packet[]> {
  const out: Packet[] = [];
  for (;;) {
    const p = await client.read(10_000);
    out.push(p);
    if (!['h', 'i', 'm', 'b', 'p', '+', '-', '2', 'e', 'q'].includes(p.code)) return out;
  }
}

export async function until(what: string, probe: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A promise with its resolve handle, for filters the test releases. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Deterministic pseudo-random bytes. */
export function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    b[i] = s & 0xff;
  }
  return b;
}

/** A CRLF text body of about n bytes whose lines are distinguishable. */
export function textBody(n: number, tag = 'line'): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < n; i++) {
    const line = `${tag} ${i} ${'abcdefghijklmnopqrstuvwxyz'.slice(0, i % 27)}\r\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, n);
}
