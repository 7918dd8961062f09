// The MTA side of the protocol: drives a milter the way Postfix does. Used by tests, benchmarks
// and `trackmilter try`.
import net from 'node:net';
import { Cmd, MILTER_CHUNK_SIZE, NO_REPLY_FLAG, Proto, Reply, type CmdCode } from './constants.js';
import { encodePacket, FrameDecoder, splitCStrings, u32, type Packet } from './codec.js';
import { encodeConnect, encodeEnvelope, encodeHeader, encodeMacro, type ConnectInfo, type EnvelopeAddress, type HeaderField, type OptNeg } from './commands.js';
import type { SocketSpec } from './address.js';
import type { HeaderChange } from './filter.js';
import { CodedError } from '../util/errors.js';
import { MilterErrorCode } from './errors.js';

/** Everything Postfix 3.7 offers. */
export const POSTFIX_OFFER: OptNeg = {
  version: 6,
  actions: 0x1ff,
  protocol: 0x1fffff,
};

interface ClientMessage {
  connect?: ConnectInfo;
  helo?: string;
  from: string | EnvelopeAddress;
  recipients: Array<string | EnvelopeAddress>;
  headers: HeaderField[];
  body: Buffer;
  /** Macros sent before the command of that stage, keyed by command code (`C`, `H`, `M`, `R`, `T`, `N`, `E`). */
  macros?: Partial<Record<string, Record<string, string>>>;
  /** Body chunk size; Postfix fills chunks to exactly 65535 bytes. */
  chunkSize?: number;
}

export interface MessageResult {
  /** The final reply code: `c`/`a` accept, `r` reject, `t` tempfail, `d` discard, `y` a reply code... */
  verdict: string;
  /** Reply text of a `y` verdict. */
  replyText?: string;
  /** Which step produced the verdict, when it was not end of message. */
  stage: string;
  headerChanges: HeaderChange[];
  /** The replacement body (REPLBODY chunks joined), or null when the milter sent none. */
  body: Buffer | null;
  replbodyChunks: number;
  /** Recipients the milter removed (SMFIR_DELRCPT), as it named them. */
  recipientsRemoved: string[];
}

export class MilterClient {
  private readonly decoder = new FrameDecoder({ maxPacket: 64 * 1024 * 1024 });
  private readonly inbox: Packet[] = [];
  private waiters: Array<{ resolve: (p: Packet) => void; reject: (e: Error) => void }> = [];
  private ended: Error | null = null;
  negotiated: OptNeg | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const p of this.decoder.push(chunk)) this.deliver(p);
      } catch (err) {
        this.finish(err as Error);
        socket.destroy();
      }
    });
    socket.on('error', (err) => this.finish(err));
    socket.on('close', () => this.finish(new CodedError(MilterErrorCode.EOF, 'milter closed the connection')));
  }

  static connect(spec: SocketSpec, timeoutMs = 5000): Promise<MilterClient> {
    return new Promise((resolve, reject) => {
      const socket = spec.kind === 'unix' ? net.connect(spec.path) : net.connect({ host: spec.host, port: spec.port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new CodedError(MilterErrorCode.CONNECT, `timed out connecting to the milter after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new MilterClient(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new CodedError(MilterErrorCode.CONNECT, `cannot connect to the milter: ${err.message}`, { cause: err }));
      });
    });
  }

  /** True once the milter has closed the connection. */
  get closed(): boolean {
    return this.ended !== null;
  }

  private deliver(p: Packet): void {
    const w = this.waiters.shift();
    if (w) w.resolve(p);
    else this.inbox.push(p);
  }

  private finish(err: Error): void {
    if (this.ended) return;
    this.ended = err;
    for (const w of this.waiters) w.reject(err);
    this.waiters = [];
  }

  /** Sends raw bytes: a packet from an encoder, or deliberate garbage in tests. */
  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next packet from the milter. */
  read(timeoutMs = 30_000): Promise<Packet> {
    const queued = this.inbox.shift();
    if (queued) return Promise.resolve(queued);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new CodedError(MilterErrorCode.TIMEOUT, `no reply from the milter within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (p: Packet): void => {
        clearTimeout(timer);
        resolve(p);
      };
      this.waiters.push({
        resolve: done,
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  async negotiate(offer: OptNeg = POSTFIX_OFFER): Promise<OptNeg> {
    this.send(encodePacket(Cmd.OPTNEG, u32(offer.version, offer.actions, offer.protocol)));
    const reply = await this.read();
    if (reply.code !== Reply.OPTNEG || reply.data.length < 12) {
      throw new CodedError(MilterErrorCode.OPTNEG, `unexpected negotiation reply '${reply.code}'`);
    }
    this.negotiated = {
      version: reply.data.readUInt32BE(0),
      actions: reply.data.readUInt32BE(4),
      protocol: reply.data.readUInt32BE(8),
    };
    return this.negotiated;
  }

  private expectsReply(code: CmdCode): boolean {
    const flag = NO_REPLY_FLAG[code];
    return flag === undefined || (this.protocol & flag) === 0;
  }

  private get protocol(): number {
    if (!this.negotiated) throw new CodedError(MilterErrorCode.SEQUENCE, 'negotiate first');
    return this.negotiated.protocol;
  }

  /** Sends a command; resolves with the milter's reply, or null where NR_* means none comes. */
  async command(code: CmdCode, packet: Buffer): Promise<Packet | null> {
    this.send(packet);
    if (!this.expectsReply(code)) return null;
    return this.read();
  }

  macros(stage: string, values: Record<string, string> | undefined): void {
    if (values) this.send(encodeMacro(stage, values));
  }

  /**
   * One message, from CONNECT (when given) to end of message, skipping the steps the milter asked
   * to skip and stopping at the first step whose reply is not CONTINUE, as Postfix does.
   */
  async sendMessage(msg: ClientMessage): Promise<MessageResult> {
    const skip = (flag: number): boolean => (this.protocol & flag) !== 0;
    const steps: Array<[CmdCode, number, () => Buffer]> = [];
    if (msg.connect) steps.push([Cmd.CONNECT, Proto.NOCONNECT, () => encodeConnect(msg.connect!)]);
    if (msg.helo !== undefined) steps.push([Cmd.HELO, Proto.NOHELO, () => encodePacket(Cmd.HELO, Buffer.from(`${msg.helo}\0`, 'latin1'))]);
    steps.push([Cmd.MAIL, Proto.NOMAIL, () => encodeEnvelope(Cmd.MAIL, toEnvelope(msg.from))]);
    for (const r of msg.recipients) steps.push([Cmd.RCPT, Proto.NORCPT, () => encodeEnvelope(Cmd.RCPT, toEnvelope(r))]);
    steps.push([Cmd.DATA, Proto.NODATA, () => encodePacket(Cmd.DATA)]);
    for (const h of msg.headers) steps.push([Cmd.HEADER, Proto.NOHDRS, () => encodeHeader(this.headerForWire(h))]);
    steps.push([Cmd.EOH, Proto.NOEOH, () => encodePacket(Cmd.EOH)]);
    const size = msg.chunkSize ?? MILTER_CHUNK_SIZE;
    for (let off = 0; off < msg.body.length; off += size) {
      const chunk = msg.body.subarray(off, Math.min(off + size, msg.body.length));
      steps.push([Cmd.BODY, Proto.NOBODY, () => encodePacket(Cmd.BODY, chunk)]);
    }
    const sentMacros = new Set<string>();
    for (const [code, noFlag, encode] of steps) {
      if (!sentMacros.has(code)) {
        this.macros(code, msg.macros?.[code]);
        sentMacros.add(code);
      }
      if (skip(noFlag)) continue;
      const reply = await this.command(code, encode());
      if (reply && reply.code !== Reply.CONTINUE) {
        if (reply.code === Reply.SKIP && code === Cmd.BODY) break;
        return { ...verdictOf(reply), stage: code, headerChanges: [], body: null, replbodyChunks: 0, recipientsRemoved: [] };
      }
    }
    this.macros(Cmd.BODYEOB, msg.macros?.[Cmd.BODYEOB]);
    this.send(encodePacket(Cmd.BODYEOB));
    return this.readEndOfMessage();
  }

  /** Without HDR_LEADSPC, MTAs strip the space after the colon; with it, they keep it. */
  private headerForWire(h: HeaderField): HeaderField {
    return (this.protocol & Proto.HDR_LEADSPC) !== 0 ? { name: h.name, value: ` ${h.value}` } : h;
  }

  private async readEndOfMessage(): Promise<MessageResult> {
    const headerChanges: HeaderChange[] = [];
    const body: Buffer[] = [];
    const recipientsRemoved: string[] = [];
    let replbodyChunks = 0;
    const leadSpace = (this.protocol & Proto.HDR_LEADSPC) !== 0;
    const value = (v: string): string => (leadSpace && v.startsWith(' ') ? v.slice(1) : v);
    for (;;) {
      const p = await this.read();
      switch (p.code) {
        case Reply.ADDHEADER: {
          const [name = '', v = ''] = splitCStrings(p.data);
          headerChanges.push({ op: 'add', name, value: value(v) });
          break;
        }
        case Reply.INSHEADER:
        case Reply.CHGHEADER: {
          const index = p.data.readUInt32BE(0);
          const [name = '', v = ''] = splitCStrings(p.data.subarray(4));
          headerChanges.push({ op: p.code === Reply.INSHEADER ? 'insert' : 'change', index, name, value: value(v) });
          break;
        }
        case Reply.REPLBODY:
          replbodyChunks += 1;
          body.push(p.data);
          break;
        case Reply.DELRCPT:
          recipientsRemoved.push(splitCStrings(p.data)[0] ?? '');
          break;
        case Reply.PROGRESS:
          break;
        default:
          return {
            ...verdictOf(p),
            stage: Cmd.BODYEOB,
            headerChanges,
            body: replbodyChunks > 0 ? Buffer.concat(body) : null,
            replbodyChunks,
            recipientsRemoved,
          };
      }
    }
  }

  abort(): void {
    this.send(encodePacket(Cmd.ABORT));
  }

  quitNewConnection(): void {
    this.send(encodePacket(Cmd.QUIT_NC));
  }

  async quit(): Promise<void> {
    if (this.ended) return;
    this.send(encodePacket(Cmd.QUIT));
    this.socket.end();
    await new Promise<void>((resolve) => {
      if (this.socket.closed) resolve();
      else this.socket.once('close', () => resolve());
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function toEnvelope(a: string | EnvelopeAddress): EnvelopeAddress {
  return typeof a === 'string' ? { address: a, args: [] } : a;
}

function verdictOf(p: Packet): { verdict: string; replyText?: string } {
  if (p.code === Reply.REPLYCODE) return { verdict: p.code, replyText: splitCStrings(p.data)[0] ?? '' };
  return { verdict: p.code };
}
