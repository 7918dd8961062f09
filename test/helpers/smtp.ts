/**
 * A small SMTP client for end-to-end tests: sends a message with a given envelope and reports the
 * server's final reply for it, so a test can tell a 250 (the MTA took responsibility) from a 4xx
 * (the client still holds the message) message by message.
 */
import net from 'node:net';

export interface Envelope {
  from: string;
  to: string[];
}

export interface OutgoingMessage {
  envelope: Envelope;
  /** The message (headers, blank line, body); LF or CRLF line ends. Not dot-stuffed. */
  data: Buffer | string;
}

export type SmtpStage = 'connect' | 'greeting' | 'ehlo' | 'mail' | 'rcpt' | 'data' | 'message';

/** What happened to one message: the reply that decided its fate and the stage it came at. */
export interface SmtpOutcome {
  /** true only for a 2xx reply to the end of DATA: the server took the message. */
  accepted: boolean;
  /** The deciding reply code; 0 when the connection failed or closed without one. */
  code: number;
  reply: string;
  stage: SmtpStage;
}

export interface SmtpReply {
  code: number;
  lines: string[];
}

const REPLY_TIMEOUT_MS = 300_000;

/**
 * Converts a message to its DATA form: CRLF line ends, dot-stuffed (a line starting with "." gets
 * another "."), ending with CRLF and the terminating ".CRLF".
 */
export function encodeSmtpData(data: Buffer | string): Buffer {
  const input = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const parts: Buffer[] = [];
  let lineStart = 0;
  const CRLF = Buffer.from('\r\n');
  const DOT = Buffer.from('.');
  while (lineStart < input.length) {
    let newline = input.indexOf(0x0a, lineStart);
    const atEnd = newline < 0;
    if (atEnd) newline = input.length;
    let lineEnd = newline;
    if (!atEnd && lineEnd > lineStart && input[lineEnd - 1] === 0x0d) lineEnd -= 1;
    if (input[lineStart] === 0x2e) parts.push(DOT);
    parts.push(input.subarray(lineStart, lineEnd), CRLF);
    lineStart = newline + 1;
  }
  parts.push(Buffer.from('.\r\n'));
  return Buffer.concat(parts);
}

/** Reads SMTP replies (possibly multi-line, "250-...", "250 ...") from a socket. */
class ReplyReader {
  private pending = '';
  private lines: string[] = [];
  private readonly ready: SmtpReply[] = [];
  private readonly waiters: Array<{ resolve: (reply: SmtpReply) => void; reject: (error: Error) => void }> = [];
  private closed: Error | undefined;

  push(chunk: Buffer): void {
    this.pending += chunk.toString('latin1');
    for (;;) {
      const newline = this.pending.indexOf('\n');
      if (newline < 0) break;
      const line = this.pending.slice(0, newline).replace(/\r$/, '');
      this.pending = this.pending.slice(newline + 1);
      this.lines.push(line);
      if (/^\d{3}(?: |$)/.test(line)) {
        const reply = { code: Number(line.slice(0, 3)), lines: this.lines };
        this.lines = [];
        const waiter = this.waiters.shift();
        if (waiter) waiter.resolve(reply);
        else this.ready.push(reply);
      }
    }
  }

  close(error: Error): void {
    if (this.closed) return;
    this.closed = error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  next(): Promise<SmtpReply> {
    const reply = this.ready.shift();
    if (reply) return Promise.resolve(reply);
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
}

function replyText(reply: SmtpReply): string {
  return reply.lines.join('\n');
}

/** Opening a session failed: no connection (code 0), or the server refused the greeting or EHLO. */
export class SmtpOpenError extends Error {
  constructor(
    readonly stage: 'connect' | 'greeting' | 'ehlo',
    readonly code: number,
    message: string,
  ) {
    super(message);
  }

  /** As the outcome of the message that was to be sent over the session. */
  toOutcome(): SmtpOutcome {
    return { accepted: false, code: this.code, reply: this.message, stage: this.stage };
  }
}

function openFailureOutcome(error: unknown): SmtpOutcome {
  if (error instanceof SmtpOpenError) return error.toOutcome();
  return { accepted: false, code: 0, reply: (error as Error).message, stage: 'connect' };
}

/** One SMTP session. Messages go one after another; after a 421 or a dropped connection it is unusable. */
export class SmtpSession {
  private readonly reader = new ReplyReader();
  private broken = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.reader.push(chunk));
    socket.on('error', (error) => {
      this.broken = true;
      this.reader.close(error);
    });
    socket.on('close', () => {
      this.broken = true;
      this.reader.close(new Error('connection closed by server'));
    });
    socket.setTimeout(REPLY_TIMEOUT_MS, () => {
      this.broken = true;
      socket.destroy(new Error(`no reply within ${REPLY_TIMEOUT_MS} ms`));
    });
  }

  /**
   * Connects, reads the greeting and says EHLO. Rejects with an SmtpOpenError when that fails
   * (Postfix refuses EHLO with 451 when a milter is unreachable and default_action is tempfail).
   */
  static async open(port: number, host = '127.0.0.1', heloName = 'client.example.test'): Promise<SmtpSession> {
    const socket = net.connect({ port, host });
    const session = new SmtpSession(socket);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('error', reject);
      });
    } catch (error) {
      throw new SmtpOpenError('connect', 0, (error as Error).message);
    }
    const greeting = await session.reader.next().catch((error: Error) => ({ code: 0, lines: [error.message] }));
    if (greeting.code !== 220) {
      session.destroy();
      throw new SmtpOpenError('greeting', greeting.code, replyText(greeting));
    }
    const ehlo = await session.command(`EHLO ${heloName}`).catch((error: Error) => ({ code: 0, lines: [error.message] }));
    if (ehlo.code !== 250) {
      session.destroy();
      throw new SmtpOpenError('ehlo', ehlo.code, replyText(ehlo));
    }
    return session;
  }

  get usable(): boolean {
    return !this.broken;
  }

  /** Sends one command line and resolves with its reply (for tests driving a session by hand). */
  async command(line: string): Promise<SmtpReply> {
    this.socket.write(`${line}\r\n`);
    const reply = await this.reader.next();
    if (reply.code === 421) this.broken = true;
    return reply;
  }

  /**
   * Sends one message; resolves with its outcome (never rejects for SMTP-level failures).
   * `onMailAccepted` runs as soon as the server accepted MAIL FROM (the transaction has begun).
   */
  async send(message: OutgoingMessage, onMailAccepted?: () => void): Promise<SmtpOutcome> {
    let stage: SmtpStage = 'mail';
    try {
      const data = typeof message.data === 'string' ? Buffer.from(message.data, 'utf8') : message.data;
      const eightBit = data.some((byte) => byte > 0x7f);
      const mail = await this.command(`MAIL FROM:<${message.envelope.from}>${eightBit ? ' BODY=8BITMIME' : ''}`);
      if (mail.code !== 250) return await this.failed(stage, mail);
      onMailAccepted?.();
      stage = 'rcpt';
      let lastRcpt: SmtpReply | undefined;
      let acceptedRecipients = 0;
      for (const recipient of message.envelope.to) {
        lastRcpt = await this.command(`RCPT TO:<${recipient}>`);
        if (lastRcpt.code === 250 || lastRcpt.code === 251) acceptedRecipients++;
        else if (lastRcpt.code === 421) return await this.failed(stage, lastRcpt);
      }
      if (acceptedRecipients === 0 || !lastRcpt) {
        return await this.failed(stage, lastRcpt ?? { code: 0, lines: ['no recipients'] });
      }
      stage = 'data';
      const go = await this.command('DATA');
      if (go.code !== 354) return await this.failed(stage, go);
      stage = 'message';
      this.socket.write(encodeSmtpData(data));
      const final = await this.reader.next();
      if (final.code === 421) this.broken = true;
      return { accepted: final.code >= 200 && final.code < 300, code: final.code, reply: replyText(final), stage };
    } catch (error) {
      this.broken = true;
      return { accepted: false, code: 0, reply: (error as Error).message, stage };
    }
  }

  /** A transaction failed before the end of DATA: reset it so the session can carry on. */
  private async failed(stage: SmtpStage, reply: SmtpReply): Promise<SmtpOutcome> {
    if (!this.broken) {
      try {
        await this.command('RSET');
      } catch {
        this.broken = true;
      }
    }
    return { accepted: false, code: reply.code, reply: replyText(reply), stage };
  }

  /** Writes raw bytes (e.g. part of a DATA stream) without waiting for any reply. */
  writeRaw(data: Buffer | string): void {
    this.socket.write(data);
  }

  async quit(): Promise<void> {
    if (!this.broken) {
      this.socket.write('QUIT\r\n');
      await this.reader.next().catch(() => undefined);
    }
    this.destroy();
  }

  destroy(): void {
    this.broken = true;
    this.socket.destroy();
  }
}

/** Sends one message over its own connection. */
export async function sendMessage(port: number, message: OutgoingMessage, host = '127.0.0.1'): Promise<SmtpOutcome> {
  let session: SmtpSession;
  try {
    session = await SmtpSession.open(port, host);
  } catch (error) {
    return openFailureOutcome(error);
  }
  try {
    return await session.send(message);
  } finally {
    await session.quit();
  }
}

export interface SendManyOptions {
  /** Concurrent SMTP sessions. */
  concurrency: number;
  /** Messages sent over one session before it is closed and a new one opened (default 10). */
  messagesPerSession?: number;
  /** Called as soon as each message's outcome is known (e.g. to kill a daemon mid-run). */
  onOutcome?: (outcome: SmtpOutcome, index: number) => void;
  /** Called when the server accepted a message's MAIL FROM, i.e. its transaction is under way. */
  onMailAccepted?: (index: number) => void;
  /** Awaited before each message is sent (e.g. to hold the senders while a daemon restarts). */
  beforeSend?: (index: number) => Promise<void> | void;
  host?: string;
}

/**
 * Sends messages over `concurrency` parallel sessions, each carrying several messages in turn (as
 * a real injector does). A session that breaks (421, dropped connection) is replaced by a new one.
 * Resolves with each message's outcome, in input order.
 */
export async function sendMessages(port: number, messages: OutgoingMessage[], options: SendManyOptions): Promise<SmtpOutcome[]> {
  const outcomes = new Array<SmtpOutcome>(messages.length);
  const perSession = options.messagesPerSession ?? 10;
  const host = options.host ?? '127.0.0.1';
  let nextIndex = 0;

  async function worker(): Promise<void> {
    let session: SmtpSession | undefined;
    let sentOnSession = 0;
    try {
      for (;;) {
        const index = nextIndex++;
        if (index >= messages.length) return;
        await options.beforeSend?.(index);
        if (session && (!session.usable || sentOnSession >= perSession)) {
          await session.quit();
          session = undefined;
        }
        let outcome: SmtpOutcome;
        if (!session) {
          try {
            session = await SmtpSession.open(port, host);
            sentOnSession = 0;
          } catch (error) {
            session = undefined;
            outcome = openFailureOutcome(error);
            outcomes[index] = outcome;
            options.onOutcome?.(outcome, index);
            continue;
          }
        }
        outcome = await session.send(messages[index]!, () => options.onMailAccepted?.(index));
        sentOnSession++;
        outcomes[index] = outcome;
        options.onOutcome?.(outcome, index);
      }
    } finally {
      await session?.quit();
    }
  }

  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, () => worker()));
  return outcomes;
}
