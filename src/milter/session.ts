// One milter connection: the protocol state machine between the MTA and a MessageFilter.
// Packets are handled strictly in order; only end of message is asynchronous, and packets that
// arrive meanwhile wait for it.
import { Action, Cmd, MILTER_CHUNK_SIZE, NO_REPLY_FLAG, Proto, Reply, type CmdCode } from './constants.js';
import { cstrings, encodePacket, type Packet } from './codec.js';
import {
  encodeAddHeader,
  encodeChangeHeader,
  encodeInsertHeader,
  encodeOptNeg,
  encodeReplyCode,
  macroName,
  parseConnect,
  parseEnvelope,
  parseHeader,
  parseMacro,
  parseOptNeg,
  parseSingleString,
  type ConnectInfo,
  type EnvelopeAddress,
  type HeaderField,
  type OptNeg,
} from './commands.js';
import { negotiate, WANTED_ACTIONS, WANTED_PROTOCOL } from './negotiate.js';
import type { FailurePolicy, FilterResult, HeaderChange, MessageContext, MessageFilter, Verdict } from './filter.js';
import type { Logger } from '../util/log.js';
import { CodedError, errorCode, errorMessage } from '../util/errors.js';
import { Fifo } from '../util/fifo.js';
import { MilterErrorCode } from './errors.js';

export interface SessionOptions {
  filter: MessageFilter;
  logger: Logger;
  /** Time the filter may take per message before the failure policy applies. */
  filterTimeoutMs: number;
  failurePolicy: FailurePolicy;
  /** Bodies larger than this are not buffered; the message passes unchanged. */
  maxMessageBytes: number;
  wantedActions?: number;
  wantedProtocol?: number;
  /** Told about every finished message (metrics). */
  onMessage?: (outcome: MessageOutcome) => void;
}

export interface MessageOutcome {
  queueId: string;
  outcome: 'modified' | 'unchanged' | 'rejected' | 'tempfailed' | 'discarded' | 'skipped' | 'failed' | 'aborted';
  bodyBytes: number;
  ms: number;
  /** Why a message was skipped or failed. */
  reason?: string;
  /** Limits the message hit without being passed over (FilterResult.limitsHit). */
  limitsHit?: string[];
}

/** Where the session writes replies, and how it ends the connection. */
interface SessionTransport {
  write(packet: Buffer): void;
  close(): void;
}

/** Macro stages are keyed by the command they came with; lookups go from the newest stage back. */
const MACRO_LOOKUP_ORDER: string[] = [Cmd.BODYEOB, Cmd.EOH, Cmd.DATA, Cmd.RCPT, Cmd.MAIL, Cmd.HELO, Cmd.CONNECT];
const CONNECTION_MACRO_STAGES = new Set<string>([Cmd.CONNECT, Cmd.HELO]);

const CONTINUE = encodePacket(Reply.CONTINUE);
const BODY_CHANGE_NOT_OFFERED = { reason: 'body-change-not-offered', detail: 'the MTA did not offer body replacement (SMFIF_CHGBODY)' };

export class MilterSession {
  private negotiated: OptNeg | null = null;
  private connect: ConnectInfo | null = null;
  private helo = '';
  private macros = new Map<string, Record<string, string>>();
  private message = emptyMessage();
  private queue = new Fifo<Packet>();
  private busy = false;
  private closed = false;
  private eomAbort: AbortController | null = null;
  private idleWaiters: Array<() => void> = [];
  private drainWaiters: Array<() => void> = [];

  constructor(
    private readonly transport: SessionTransport,
    private readonly options: SessionOptions,
  ) {}

  /** True between messages: nothing of a message has arrived, or its verdict was sent. */
  get idle(): boolean {
    return !this.message.started && !this.busy;
  }

  /** Resolves once the session is idle (for graceful shutdown). */
  whenIdle(): Promise<void> {
    if (this.idle || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Resolves once every packet handed in so far has been dealt with (replies written), or the session ended. */
  whenDrained(): Promise<void> {
    if (this.closed || (!this.busy && this.queue.length === 0)) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  handle(packet: Packet): void {
    if (this.closed) return;
    this.queue.push(packet);
    if (!this.busy) this.drain();
  }

  /** The connection is gone (EOF, error, or shutdown): stop any filter work. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.clear();
    this.eomAbort?.abort(new CodedError(MilterErrorCode.CLOSED, 'connection closed during end of message'));
    this.notifyIdle();
    this.notifyDrained();
  }

  private drain(): void {
    while (this.queue.length > 0 && !this.closed) {
      const packet = this.queue.shift()!;
      let pending: Promise<void> | undefined;
      try {
        pending = this.dispatch(packet);
      } catch (err) {
        this.fail(err);
        return;
      }
      if (pending) {
        this.busy = true;
        pending.then(
          () => {
            this.busy = false;
            this.notifyIdle();
            this.drain();
          },
          (err: unknown) => {
            this.busy = false;
            this.fail(err);
          },
        );
        return;
      }
    }
    this.notifyIdle();
    this.notifyDrained();
  }

  private notifyDrained(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private fail(err: unknown): void {
    this.options.logger.warn({ err: errorMessage(err), code: errorCode(err) }, 'milter session error; closing');
    this.transport.close();
    this.end();
  }

  private notifyIdle(): void {
    if (!this.idle && !this.closed) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private dispatch(packet: Packet): Promise<void> | undefined {
    const { code, data } = packet;
    if (code === Cmd.OPTNEG) return this.onOptNeg(data);
    if (!this.negotiated) {
      throw new CodedError(MilterErrorCode.SEQUENCE, `command '${printable(code)}' before option negotiation`);
    }
    switch (code) {
      case Cmd.MACRO: {
        const { stage, macros } = parseMacro(data);
        // As libmilter does: a stage's macros are the latest packet's, not a merge with earlier ones.
        if (stage) this.macros.set(stage, macros);
        return;
      }
      case Cmd.CONNECT:
        this.connect = parseConnect(data);
        return this.replyUnlessNr(code);
      case Cmd.HELO:
        this.helo = parseSingleString(data);
        return this.replyUnlessNr(code);
      case Cmd.MAIL:
        // A new transaction; its own MAIL-stage macros arrived just before this command.
        this.resetMessage(Cmd.MAIL);
        this.message.started = true;
        this.message.from = parseEnvelope(data);
        return this.replyUnlessNr(code);
      case Cmd.RCPT:
        this.message.started = true;
        this.message.recipients.push(parseEnvelope(data));
        return this.replyUnlessNr(code);
      case Cmd.DATA:
      case Cmd.EOH:
      case Cmd.UNKNOWN:
        return this.replyUnlessNr(code);
      case Cmd.HEADER:
        this.message.started = true;
        this.message.headers.push(this.normaliseHeader(parseHeader(data)));
        return this.replyUnlessNr(code);
      case Cmd.BODY:
        this.message.started = true;
        this.appendBody(data);
        return this.replyUnlessNr(code);
      case Cmd.BODYEOB:
        if (data.length > 0) this.appendBody(data);
        return this.endOfMessage();
      case Cmd.ABORT:
        if (this.message.started) this.logAborted();
        this.resetMessage();
        return;
      case Cmd.QUIT:
        this.transport.close();
        this.end();
        return;
      case Cmd.QUIT_NC:
        // A new SMTP connection follows on this socket: back to just after negotiation.
        this.resetMessage();
        this.connect = null;
        this.helo = '';
        this.macros.clear();
        return;
      default:
        // An unknown command gets no reply; the stream is still in sync, so carry on.
        this.options.logger.warn({ command: printable(code), bytes: data.length }, 'unknown milter command ignored');
        return;
    }
  }

  private onOptNeg(data: Buffer): undefined {
    const offer = parseOptNeg(data);
    this.negotiated = negotiate(offer, this.options.wantedActions ?? WANTED_ACTIONS, this.options.wantedProtocol ?? WANTED_PROTOCOL);
    this.transport.write(encodeOptNeg(this.negotiated));
    return undefined;
  }

  private replyUnlessNr(code: CmdCode): undefined {
    const flag = NO_REPLY_FLAG[code];
    if (flag !== undefined && (this.negotiated!.protocol & flag) !== 0) return undefined;
    this.transport.write(CONTINUE);
    return undefined;
  }

  /** Values reach the filter without the one space after the colon, whatever was negotiated. */
  private normaliseHeader(h: HeaderField): HeaderField {
    if ((this.negotiated!.protocol & Proto.HDR_LEADSPC) !== 0 && h.value.startsWith(' ')) {
      return { name: h.name, value: h.value.slice(1) };
    }
    return h;
  }

  private appendBody(chunk: Buffer): void {
    const m = this.message;
    m.bodyBytes += chunk.length;
    if (m.bodyBytes > this.options.maxMessageBytes) {
      m.overLimit = true;
      m.body.length = 0;
      return;
    }
    // Chunks can be views into a socket read holding other packets; copy so they do not pin it.
    m.body.push(chunk.byteOffset === 0 && chunk.buffer.byteLength === chunk.length ? chunk : Buffer.from(chunk));
  }

  private resetMessage(keepStage?: string): void {
    this.message = emptyMessage();
    for (const stage of [...this.macros.keys()]) {
      if (!CONNECTION_MACRO_STAGES.has(stage) && stage !== keepStage) this.macros.delete(stage);
    }
  }

  private macro(name: string): string | undefined {
    const key = macroName(name);
    for (const stage of MACRO_LOOKUP_ORDER) {
      const v = this.macros.get(stage)?.[key];
      if (v !== undefined) return v;
    }
    return undefined;
  }

  private async endOfMessage(): Promise<void> {
    const started = Date.now();
    const m = this.message;
    const queueId = this.macro('i') ?? '';
    const log = this.options.logger;
    const base = { queueId, bodyBytes: m.bodyBytes, recipients: m.recipients.length };

    if (m.overLimit) {
      this.finishMessage([encodePacket(Reply.CONTINUE)]);
      this.report(log, { ...base, outcome: 'skipped', reason: 'message-size', limit: this.options.maxMessageBytes }, started);
      return;
    }

    const ctx: MessageContext = {
      queueId,
      connect: this.connect,
      helo: this.helo,
      from: m.from,
      recipients: m.recipients,
      headers: m.headers,
      body: m.body.length === 1 ? m.body[0]! : Buffer.concat(m.body, m.bodyBytes),
      macro: (name) => this.macro(name),
      bodyReplaceable: (this.negotiated!.actions & Action.CHGBODY) !== 0,
    };

    let result: FilterResult;
    try {
      result = await this.runFilter(ctx);
    } catch (err) {
      if (this.closed) {
        this.report(log, { ...base, outcome: 'aborted', reason: 'connection-closed' }, started);
        return;
      }
      const policy = this.options.failurePolicy;
      this.finishMessage([policy === 'tempfail' ? encodePacket(Reply.TEMPFAIL) : encodePacket(Reply.CONTINUE)]);
      log.error({ ...base, outcome: 'failed', policy, code: errorCode(err), err: errorMessage(err), ms: Date.now() - started }, 'message');
      this.options.onMessage?.({ queueId, outcome: 'failed', bodyBytes: m.bodyBytes, ms: Date.now() - started, reason: errorCode(err) });
      return;
    }
    if (this.closed) return;

    const { packets, bodyDropped } = this.eomPackets(result);
    this.finishMessage(packets);
    const outcome = outcomeOf(result);
    if (bodyDropped && outcome === 'modified') {
      // The links were not rewritten on the way out: not a modified message, whatever headers changed.
      this.report(log, { ...result.log, ...base, outcome: 'skipped', ...BODY_CHANGE_NOT_OFFERED }, started);
      return;
    }
    const limitsHit = result.limitsHit?.length ? { limitsHit: result.limitsHit } : {};
    this.report(log, { ...result.log, ...result.skipped, ...base, outcome, bodyOutBytes: result.body?.length, ...limitsHit }, started);
  }

  private report(log: Logger, fields: Record<string, unknown> & { queueId: string; outcome: string; bodyBytes: number }, started: number): void {
    const ms = Date.now() - started;
    log.info({ ...fields, ms }, 'message');
    this.options.onMessage?.({
      queueId: fields.queueId,
      outcome: fields.outcome as MessageOutcome['outcome'],
      bodyBytes: fields.bodyBytes,
      ms,
      ...(typeof fields.reason === 'string' ? { reason: fields.reason } : {}),
      ...(Array.isArray(fields.limitsHit) ? { limitsHit: fields.limitsHit as string[] } : {}),
    });
  }

  private logAborted(): void {
    const m = this.message;
    this.options.logger.debug({ queueId: this.macro('i') ?? '', bodyBytes: m.bodyBytes }, 'message aborted by MTA');
  }

  private async runFilter(ctx: MessageContext): Promise<FilterResult> {
    const controller = new AbortController();
    this.eomAbort = controller;
    const budget = this.options.filterTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new CodedError(MilterErrorCode.FILTER_TIMEOUT, `filter exceeded its ${budget} ms budget`);
        controller.abort(err);
        reject(err);
      }, budget);
    });
    const closed = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason as Error), { once: true });
    });
    try {
      return await Promise.race([Promise.resolve(this.options.filter.endOfMessage(ctx, controller.signal)), timeout, closed]);
    } finally {
      clearTimeout(timer);
      this.eomAbort = null;
    }
  }

  /** Header changes, then every REPLBODY chunk back to back, then the verdict: the order both MTAs accept. */
  private eomPackets(result: FilterResult): { packets: Buffer[]; bodyDropped: boolean } {
    const actions = this.negotiated!.actions;
    const out: Buffer[] = [];
    const bodyDropped = result.body !== undefined && (actions & Action.CHGBODY) === 0;
    for (const change of result.headerChanges ?? []) {
      const packet = this.headerChangePacket(change, actions);
      if (packet) out.push(packet);
    }
    const removals = result.removeRecipients ?? [];
    if (removals.length > 0 && (actions & Action.DELRCPT) === 0) {
      this.options.logger.warn({ recipients: removals.length }, 'MTA did not allow removing recipients (DELRCPT); recipients kept');
    } else {
      // Angle brackets as in RCPT TO: both Postfix and Sendmail parse the address out of them.
      for (const recipient of removals) out.push(encodePacket(Reply.DELRCPT, cstrings(`<${recipient}>`)));
    }
    if (bodyDropped) {
      this.options.logger.warn({}, 'MTA did not allow body replacement; body left unchanged');
    } else if (result.body) {
      const body = result.body;
      if (body.length === 0) out.push(encodePacket(Reply.REPLBODY));
      for (let off = 0; off < body.length; off += MILTER_CHUNK_SIZE) {
        out.push(encodePacket(Reply.REPLBODY, body.subarray(off, Math.min(off + MILTER_CHUNK_SIZE, body.length))));
      }
    }
    out.push(verdictPacket(result.verdict));
    return { packets: out, bodyDropped };
  }

  private headerChangePacket(change: HeaderChange, actions: number): Buffer | null {
    // Without HDR_LEADSPC the MTA adds the space after the colon itself.
    const lead = (this.negotiated!.protocol & Proto.HDR_LEADSPC) !== 0 && change.value !== '' ? ' ' : '';
    const field = { name: change.name, value: lead + change.value };
    switch (change.op) {
      case 'add':
        return actions & Action.ADDHDRS ? encodeAddHeader(field) : this.refused(change);
      case 'insert':
        return actions & Action.ADDHDRS ? encodeInsertHeader(change.index, field) : this.refused(change);
      case 'change':
        return actions & Action.CHGHDRS ? encodeChangeHeader(change.index, field) : this.refused(change);
    }
  }

  private refused(change: HeaderChange): null {
    this.options.logger.warn({ header: change.name, op: change.op }, 'MTA did not allow this header change; skipped');
    return null;
  }

  private finishMessage(packets: Buffer[]): void {
    // One write: the MTA reads the replies in sequence and nothing may come between REPLBODY chunks.
    this.transport.write(packets.length === 1 ? packets[0]! : Buffer.concat(packets));
    this.resetMessage();
  }
}

interface MessageState {
  started: boolean;
  from: EnvelopeAddress | null;
  recipients: EnvelopeAddress[];
  headers: HeaderField[];
  body: Buffer[];
  bodyBytes: number;
  overLimit: boolean;
}

function emptyMessage(): MessageState {
  return { started: false, from: null, recipients: [], headers: [], body: [], bodyBytes: 0, overLimit: false };
}

function verdictPacket(verdict: Verdict | undefined): Buffer {
  switch (verdict?.kind ?? 'accept') {
    case 'accept':
      return encodePacket(Reply.CONTINUE);
    case 'discard':
      return encodePacket(Reply.DISCARD);
    case 'reject':
      return verdict && 'reply' in verdict && verdict.reply ? encodeReplyCode(verdict.reply) : encodePacket(Reply.REJECT);
    case 'tempfail':
      return verdict && 'reply' in verdict && verdict.reply ? encodeReplyCode(verdict.reply) : encodePacket(Reply.TEMPFAIL);
  }
}

function outcomeOf(result: FilterResult): MessageOutcome['outcome'] {
  switch (result.verdict?.kind ?? 'accept') {
    case 'reject':
      return 'rejected';
    case 'tempfail':
      return 'tempfailed';
    case 'discard':
      return 'discarded';
    default:
      if (result.skipped) return 'skipped';
      return result.body || (result.headerChanges?.length ?? 0) > 0 || (result.removeRecipients?.length ?? 0) > 0 ? 'modified' : 'unchanged';
  }
}

function printable(code: string): string {
  return /^[\x20-\x7e]$/.test(code) ? code : `0x${code.charCodeAt(0).toString(16).padStart(2, '0')}`;
}
