/**
 * The fast front: answers the redirector's plain GET and HEAD requests straight from the socket (the
 * TLS socket, with HTTPS).
 *
 * node:http builds a request and a response object, several streams and listeners for every request,
 * and on a 2-core machine that alone caps it below half of nginx's rate (bench:redirect). Clicks and
 * opens need none of it: a head of a few lines in, a canned response out. So connections start here,
 * and stay here while every request head is one the strict reader (./request-head.ts) fully
 * understands and arrives whole in one read. At the first thing it does not (another method, a
 * body, HTTP/1.0, an odd byte, a head cut across reads, a head over the size limit, the admin API) the
 * connection is handed, with the bytes not yet answered, to node:http, which serves it from then on
 * with its own parser, limits and timeouts. Responses go out in request order, each after its event
 * is written.
 */
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { readRequestHead } from './request-head.js';
import { headerLines, REDIRECT, textHeaders, type CannedResponse, type ResponseWriter } from './responses.js';
import type { IncomingRequest } from './types.js';

/**
 * Why a connection went to node:http: a head the strict reader leaves to node (another method, a body,
 * an odd byte...), a head cut across reads, one over the size limit, an admin API or unsubscribe
 * request, or more pipelined requests than it lets wait.
 */
type HandOffReason = 'unread_head' | 'partial_head' | 'oversized_head' | 'admin' | 'unsubscribe' | 'pipelined';

/** A connection with more requests than this still unanswered goes to node:http, which paces a flood. */
const MAX_OWED = 16;

interface FastFrontOptions {
  /** Answers one request through `out`, now or later. */
  handle: (request: IncomingRequest, out: ResponseWriter) => void;
  /** Serves the rest of a connection with node:http (its 'connection' listener). */
  handOff: (socket: Socket) => void;
  /** Told why each connection is handed off (for metrics). */
  onHandOff?: (reason: HandOffReason) => void;
  /**
   * Targets starting with one of these prefixes always go to node:http, with the reason given (the
   * admin API and the unsubscribe pages read bodies and set headers of their own).
   */
  nodeOnlyPrefixes?: ReadonlyArray<readonly [prefix: string, reason: HandOffReason]>;
  maxUrlBytes: number;
  maxHeaderBytes: number;
  /** A connection that sends nothing is closed after this (node:http's headersTimeout)... */
  headersTimeoutMs: number;
  /** ...and after its first answer, an idle one (nothing asked, nothing owed) after this. */
  keepAliveTimeoutMs: number;
}

/**
 * Puts a fast front in front of a node:http server: the server's own listener for `event`
 * ('connection', or 'secureConnection' with TLS) is taken out and handed to `createFront` as the
 * place to send connections the front does not serve. Returns null, changing nothing, when the
 * server does not have exactly one such listener: that is not the node:http this was written
 * against, and the server then serves everything itself.
 */
export function putFastFrontBefore(
  server: EventEmitter,
  event: 'connection' | 'secureConnection',
  createFront: (handOff: (socket: Socket) => void) => FastFront,
): FastFront | null {
  const nodeListeners = server.listeners(event) as ((socket: Socket) => void)[];
  const nodeConnection = nodeListeners[0];
  if (nodeListeners.length !== 1 || !nodeConnection) return null;
  const front = createFront((socket) => nodeConnection.call(server, socket));
  server.removeListener(event, nodeConnection);
  server.on(event, (socket: Socket) => front.accept(socket));
  return front;
}

export class FastFront {
  private readonly connections = new Set<FastConnection>();
  private closing = false;

  constructor(readonly options: FastFrontOptions) {}

  accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.connections.add(new FastConnection(this, socket));
  }

  forget(connection: FastConnection): void {
    this.connections.delete(connection);
  }

  /** Ends idle connections now and the others once they have answered what they owe. */
  closeIdle(): void {
    this.closing = true;
    for (const connection of this.connections) connection.endWhenIdle();
  }

  destroyAll(): void {
    for (const connection of this.connections) connection.destroy();
  }
}

/** One response owed, in request order. */
class ReplySlot implements ResponseWriter {
  bytes: string | Buffer | undefined;

  constructor(
    private readonly connection: FastConnection,
    private readonly isHead: boolean,
    readonly close: boolean,
  ) {}

  canned(response: CannedResponse): void {
    const head = `${statusLine(response.status)}${this.commonLines()}${response.headerLines}\r\n`;
    this.ready(this.isHead || response.body.length === 0 ? head : Buffer.concat([Buffer.from(head, 'latin1'), response.body]));
  }

  redirect(location: string): void {
    // safeLocation made `location` visible ASCII, so latin1 writes it byte for byte.
    this.ready(`${statusLine(302)}${this.commonLines()}Location: ${location}\r\n${REDIRECT.headerLines}\r\n`);
  }

  text(status: number, contentType: string, body: string): void {
    const head = `${statusLine(status)}${this.commonLines()}${headerLines(textHeaders(contentType, body))}\r\n`;
    this.ready(this.isHead ? head : Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body, 'utf8')]));
  }

  private commonLines(): string {
    return this.close ? `Date: ${httpDate()}\r\nConnection: close\r\n` : `Date: ${httpDate()}\r\n`;
  }

  private ready(bytes: string | Buffer): void {
    if (this.bytes !== undefined) return;
    this.bytes = bytes;
    this.connection.flush();
  }
}

class FastConnection {
  private answered = false;
  private readonly owed: ReplySlot[] = [];
  /** Set once no more requests are read: the client said close, or the server is closing. */
  private ending = false;
  /** Bytes to give node:http once every response owed here is written; undefined until handed off. */
  private handOffBytes: string | undefined;
  private transferred = false;
  /** Reading is paused until the client takes what was written (it is not reading its answers). */
  private waitingForDrain = false;
  private readonly onDrain = (): void => {
    this.waitingForDrain = false;
    if (this.handOffBytes === undefined && !this.transferred) this.socket.resume();
  };
  private readonly onData = (chunk: Buffer): void => this.read(chunk);
  private readonly onEnd = (): void => this.endWhenIdle();
  private readonly onTimeout = (): void => {
    if (this.owed.length === 0) this.socket.destroy();
  };
  private readonly onError = (): void => {
    this.socket.destroy();
  };
  private readonly onClose = (): void => this.front.forget(this);

  constructor(
    private readonly front: FastFront,
    private readonly socket: Socket,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('timeout', this.onTimeout);
    socket.setTimeout(front.options.headersTimeoutMs);
  }

  private read(chunk: Buffer): void {
    if (this.ending || this.handOffBytes !== undefined) return;
    const options = this.front.options;
    const data = chunk.toString('latin1');
    let at = 0;
    for (;;) {
      const end = data.indexOf('\r\n\r\n', at);
      if (end === -1) break;
      if (end - at > options.maxHeaderBytes) return this.handOff(data.slice(at), 'oversized_head');
      const head = readRequestHead(data.slice(at, end), options.maxUrlBytes);
      if (head === null) return this.handOff(data.slice(at), 'unread_head');
      const nodeOnly = options.nodeOnlyPrefixes?.find(([prefix]) => head.target.startsWith(prefix));
      if (nodeOnly) return this.handOff(data.slice(at), nodeOnly[1]);
      if (this.owed.length >= MAX_OWED) return this.handOff(data.slice(at), 'pipelined');
      at = end + 4;
      const slot = new ReplySlot(this, head.isHead, head.close);
      this.owed.push(slot);
      options.handle(
        {
          method: head.isHead ? 'HEAD' : 'GET',
          target: head.target,
          host: head.host,
          userAgent: head.userAgent,
          forwardedFor: head.forwardedFor,
          remoteAddress: this.socket.remoteAddress,
        },
        slot,
      );
      if (head.close) {
        this.ending = true;
        return;
      }
    }
    // A head cut across reads: node:http waits for the rest, under its own size limit and timeout.
    if (at < data.length) this.handOff(data.slice(at), data.length - at > options.maxHeaderBytes ? 'oversized_head' : 'partial_head');
  }

  /** Writes the responses that are ready, in order. */
  flush(): void {
    let out: string | Buffer | undefined;
    let close = false;
    while (this.owed.length > 0 && this.owed[0]!.bytes !== undefined) {
      const slot = this.owed.shift()!;
      const bytes = slot.bytes!;
      if (out === undefined) out = bytes;
      else if (typeof out === 'string' && typeof bytes === 'string') out += bytes;
      else out = Buffer.concat([toBuffer(out), toBuffer(bytes)]);
      if (slot.close) {
        close = true;
        break;
      }
    }
    if (out !== undefined && !this.socket.destroyed) {
      if (typeof out === 'string') this.socket.write(out, 'latin1');
      else this.socket.write(out);
      if (!this.answered) {
        this.answered = true;
        this.socket.setTimeout(this.front.options.keepAliveTimeoutMs);
      }
      if (this.socket.writableNeedDrain && !this.waitingForDrain) {
        this.waitingForDrain = true;
        this.socket.pause();
        this.socket.once('drain', this.onDrain);
      }
    }
    if (close) {
      this.owed.length = 0;
      this.socket.end();
    } else if (this.owed.length === 0) {
      if (this.handOffBytes !== undefined) this.transfer();
      else if (this.ending) this.socket.end();
    }
  }

  endWhenIdle(): void {
    this.ending = true;
    if (this.owed.length === 0 && this.handOffBytes === undefined) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private handOff(bytes: string, reason: HandOffReason): void {
    this.front.options.onHandOff?.(reason);
    this.socket.pause();
    this.handOffBytes = bytes;
    if (this.owed.length === 0) this.transfer();
  }

  private transfer(): void {
    const socket = this.socket;
    const bytes = this.handOffBytes ?? '';
    this.handOffBytes = undefined;
    this.ending = true;
    this.transferred = true;
    socket.removeListener('drain', this.onDrain);
    socket.removeListener('data', this.onData);
    socket.removeListener('end', this.onEnd);
    socket.removeListener('error', this.onError);
    socket.removeListener('close', this.onClose);
    socket.removeListener('timeout', this.onTimeout);
    socket.setTimeout(0);
    this.front.forget(this);
    if (socket.destroyed) return;
    if (bytes !== '') socket.unshift(Buffer.from(bytes, 'latin1'));
    this.front.options.handOff(socket);
    socket.resume();
  }
}

function toBuffer(bytes: string | Buffer): Buffer {
  return typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
}

const statusLines = new Map<number, string>();
function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
    statusLines.set(status, line);
  }
  return line;
}

// HTTP wants a Date on every response; it changes once a second, so it is formatted once a second.
let dateSecond = -1;
let dateText = '';
function httpDate(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}
