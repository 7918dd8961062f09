/**
 * The milter codec and session: valid conversations built with the project's encoders, mutated at the
 * packet level (drop, duplicate, swap, random or unknown commands, bad lengths, cut) and the byte level,
 * and delivered in random read sizes; the filter sometimes throws, rejects, overruns its budget, replaces
 * the body or gives a verdict.
 *
 * Most cases run in memory (FrameDecoder + MilterSession with a recording transport); one in five runs
 * over a real socket against a MilterServer that lives for the whole run.
 * Findings: an exception escaping the decoder (other than its framing error) or the session; a session
 * still busy 5 s after its input; a server that does not close a connection it must close (client EOF,
 * QUIT on intact framing) within 5 s; sessionCount not back to 0; a fresh connection not served after a
 * bad one; replies that do not decode or use an unknown code; an unmutated conversation whose messages
 * do not get exactly one verdict each.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { FrameDecoder, type Packet } from '../../src/milter/codec.js';
import { MilterClient } from '../../src/milter/client.js';
import { Reply } from '../../src/milter/constants.js';
import type { FilterResult, MessageContext, MessageFilter } from '../../src/milter/filter.js';
import { MilterServer } from '../../src/milter/server.js';
import { MilterSession, type SessionOptions } from '../../src/milter/session.js';
import { errorCode } from '../../src/util/errors.js';
import { silentLogger } from '../../src/util/log.js';
import type { Rng } from '../random.js';
import { HANG_MS, type FuzzCase, type FuzzTarget, type Problem, type TargetContext, type TargetSession } from '../target.js';
import { framingIntact, mutateStream, splitSizes, validStream } from './milter-streams.js';

const MAX_PACKET = 1024 * 1024;
const FILTER_TIMEOUT_MS = 30;
const KNOWN_REPLIES = new Set<string>(Object.values(Reply));
const VERDICTS = new Set<string>([Reply.CONTINUE, Reply.ACCEPT, Reply.REJECT, Reply.TEMPFAIL, Reply.DISCARD, Reply.REPLYCODE]);
/** A probe conversation over a fresh connection after this many socket cases. */
const PROBE_EVERY = 10;

type Behaviour = 'accept' | 'modify' | 'big-body' | 'throw' | 'reject-promise' | 'slow' | 'verdict';
const BEHAVIOURS: Behaviour[] = ['accept', 'modify', 'big-body', 'throw', 'reject-promise', 'slow', 'verdict'];

export interface MilterCase extends FuzzCase {
  details: {
    mode: 'memory' | 'socket';
    reads: number[];
    behaviours: Behaviour[];
    ending: 'half-close' | 'stay-open';
    unmutated: boolean;
    messages: number;
    intact: boolean;
  };
}

/** The filter the session calls: its behaviour per call comes from the running case. */
class ScriptedFilter implements MessageFilter {
  behaviours: Behaviour[] = ['accept'];
  private calls = 0;

  reset(behaviours: Behaviour[]): void {
    this.behaviours = behaviours;
    this.calls = 0;
  }

  async endOfMessage(ctx: MessageContext, signal: AbortSignal): Promise<FilterResult> {
    const behaviour = this.behaviours[this.calls++ % this.behaviours.length]!;
    switch (behaviour) {
      case 'accept':
        return {};
      case 'modify':
        return {
          headerChanges: [
            { op: 'add', name: 'X-Fuzz', value: 'added' },
            { op: 'change', index: 1, name: 'Subject', value: '' },
            { op: 'insert', index: 0, name: 'X-First', value: 'v' },
          ],
          body: Buffer.concat([ctx.body, Buffer.from('\r\n-- fuzz\r\n')]),
        };
      case 'big-body':
        return { body: Buffer.alloc(200_000, 0x61) };
      case 'throw':
        throw new Error('filter failure (fuzz)');
      case 'reject-promise':
        await Promise.resolve();
        throw new Error('async filter failure (fuzz)');
      case 'slow':
        await sleep(FILTER_TIMEOUT_MS * 2, undefined, { signal }).catch(() => undefined);
        return {};
      case 'verdict':
        return { verdict: this.calls % 2 === 0 ? { kind: 'reject', reply: '550 5.7.1 no %s' } : { kind: 'tempfail' } };
    }
  }
}

function sessionOptions(filter: MessageFilter): SessionOptions {
  return { filter, logger: silentLogger, filterTimeoutMs: FILTER_TIMEOUT_MS, failurePolicy: 'accept', maxMessageBytes: 1_500_000 };
}

function generate(rng: Rng): MilterCase {
  const unmutated = rng.chance(0.1);
  // Postfix's offer asks for no reply before end of message, so an unmutated stream's replies are its verdicts.
  const stream = validStream(rng, unmutated);
  const mutated = unmutated ? { data: Buffer.concat(stream.packets), label: 'unmutated' } : mutateStream(rng, stream);
  const behaviours = unmutated ? ['accept' as const] : Array.from({ length: 1 + rng.below(3) }, () => rng.pick(BEHAVIOURS));
  return {
    label: mutated.label,
    input: mutated.data,
    details: {
      mode: rng.chance(0.2) ? 'socket' : 'memory',
      reads: splitSizes(rng, mutated.data.length),
      behaviours,
      ending: rng.chance(0.7) ? 'half-close' : 'stay-open',
      unmutated,
      messages: stream.messages,
      intact: framingIntact(mutated.data, MAX_PACKET),
    },
  };
}

/** Problems with what the milter wrote back. */
/** Replies are ours: a packet of any size up to this is theirs to check, not the decoder's to refuse. */
const REPLY_MAX_PACKET = 64 * 1024 * 1024;

const countVerdicts = (packets: Packet[]): number => packets.filter((p) => VERDICTS.has(p.code)).length;

/** Verdicts among the complete reply packets so far (0 when they do not decode). */
function verdictCount(replies: Buffer): number {
  try {
    return countVerdicts(new FrameDecoder({ maxPacket: REPLY_MAX_PACKET }).push(replies));
  } catch {
    return 0;
  }
}

function replyProblems(replies: Buffer, c: MilterCase): Problem[] {
  const decoder = new FrameDecoder({ maxPacket: REPLY_MAX_PACKET });
  let packets: Packet[];
  try {
    packets = decoder.push(replies);
  } catch (err) {
    return [{ kind: 'violation', message: `replies do not decode: ${errorCode(err)}` }];
  }
  const problems: Problem[] = [];
  if (decoder.pendingBytes > 0) problems.push({ kind: 'violation', message: `replies end inside a packet (${decoder.pendingBytes} bytes)` });
  for (const p of packets) {
    if (!KNOWN_REPLIES.has(p.code)) problems.push({ kind: 'violation', message: `unknown reply code 0x${p.code.charCodeAt(0).toString(16)}` });
    if (p.code === Reply.REPLBODY && p.data.length > 65535) problems.push({ kind: 'violation', message: `REPLBODY chunk of ${p.data.length} bytes` });
  }
  if (c.details.unmutated) {
    const verdicts = countVerdicts(packets);
    if (verdicts !== c.details.messages) {
      problems.push({ kind: 'violation', message: `unmutated conversation with ${c.details.messages} messages got ${verdicts} verdicts` });
    }
  }
  return problems.slice(0, 3);
}

async function runInMemory(c: MilterCase, filter: ScriptedFilter): Promise<Problem[]> {
  filter.reset(c.details.behaviours);
  const writes: Buffer[] = [];
  let closed = false;
  const session = new MilterSession({ write: (b) => writes.push(Buffer.from(b)), close: () => (closed = true) }, sessionOptions(filter));
  const decoder = new FrameDecoder({ maxPacket: MAX_PACKET });
  let offset = 0;
  for (const size of c.details.reads) {
    if (closed) break;
    const chunk = c.input.subarray(offset, offset + size);
    offset += size;
    let decoded: ReturnType<FrameDecoder['decode']>;
    try {
      decoded = decoder.decode(chunk);
    } catch (err) {
      return [{ kind: 'crash', message: `FrameDecoder.decode threw ${errorCode(err)}: ${String(err)}` }];
    }
    for (const p of decoded.packets) session.handle(p);
    if (decoded.error) break; // as the server: the packets before a bad length are served, then it closes
    if (offset % 7 === 0) await Promise.resolve();
  }
  // White box: the session is done with its input once nothing is queued and no end of message runs.
  const internals = session as unknown as { busy: boolean; queue: unknown[]; closed: boolean };
  const deadline = Date.now() + HANG_MS;
  while ((internals.busy || internals.queue.length > 0) && !internals.closed) {
    if (Date.now() > deadline) return [{ kind: 'hang', message: 'session still busy 5 s after its last packet' }];
    await sleep(2);
  }
  session.end();
  await session.whenIdle();
  return replyProblems(Buffer.concat(writes), c);
}

/** One MilterServer for the whole run: a bad connection must not spoil the next ones. */
class SocketHarness {
  private cases = 0;

  private constructor(
    private readonly server: MilterServer,
    private readonly filter: ScriptedFilter,
  ) {}

  static async start(): Promise<SocketHarness> {
    const filter = new ScriptedFilter();
    const server = new MilterServer({ listen: { kind: 'inet', host: '127.0.0.1', port: 0 }, maxPacket: MAX_PACKET, ...sessionOptions(filter) });
    await server.listen();
    return new SocketHarness(server, filter);
  }

  private get port(): number {
    const spec = this.server.address;
    return spec.kind === 'inet' ? spec.port : 0;
  }

  async run(c: MilterCase, ctx: TargetContext): Promise<Problem[]> {
    this.filter.reset(c.details.behaviours);
    const socket = net.connect({ host: '127.0.0.1', port: this.port });
    socket.setNoDelay(true);
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    }).catch(() => undefined);
    const problems: Problem[] = [];
    let offset = 0;
    for (const size of c.details.reads.length > 200 ? [c.input.length] : c.details.reads) {
      if (socket.destroyed) break;
      socket.write(c.input.subarray(offset, offset + size));
      offset += size;
      if (c.details.reads.length < 50) await new Promise((r) => setImmediate(r));
    }
    const endsWithQuit = c.input.length >= 5 && c.input.readUInt32BE(c.input.length - 5) === 1 && c.input[c.input.length - 1] === 0x51;
    const mustClose = c.details.ending === 'half-close' || (c.details.intact && endsWithQuit);
    if (c.details.ending === 'half-close') socket.end();
    // Ending a message may take the filter's budget per message; allow that on top of the hang limit.
    const limit = HANG_MS + FILTER_TIMEOUT_MS * (c.details.messages + 2);
    if (mustClose) {
      const outcome = await Promise.race([closed.then(() => 'closed' as const), sleep(limit).then(() => 'open' as const)]);
      if (outcome === 'open')
        problems.push({ kind: 'hang', message: `server did not close the connection within ${limit} ms (${c.details.ending}${endsWithQuit ? ', QUIT' : ''})` });
    } else if (c.details.unmutated) {
      // A valid conversation left open: its verdicts are owed, however long a big stream takes to
      // serve (a fixed wait would judge the machine's speed, not the milter).
      const deadline = Date.now() + limit;
      while (verdictCount(Buffer.concat(received)) < c.details.messages && !socket.destroyed && Date.now() < deadline) await sleep(5);
    } else {
      await sleep(5);
    }
    socket.destroy();
    await closed;
    const deadline = Date.now() + HANG_MS;
    while (this.server.sessionCount > 0 && Date.now() < deadline) await sleep(5);
    if (this.server.sessionCount > 0)
      problems.push({ kind: 'violation', message: `sessionCount stayed at ${this.server.sessionCount} after the connection closed` });
    if (mustClose || c.details.unmutated) problems.push(...replyProblems(Buffer.concat(received), c));
    if (++this.cases % PROBE_EVERY === 0) problems.push(...(await this.probe(ctx)));
    return problems;
  }

  /** A fresh, valid conversation must still be served. */
  private async probe(ctx: TargetContext): Promise<Problem[]> {
    this.filter.reset(['accept']);
    try {
      const client = await MilterClient.connect(this.server.address, HANG_MS);
      try {
        await client.negotiate();
        const result = await client.sendMessage({
          from: 'a@example.com',
          recipients: ['b@example.net'],
          headers: [{ name: 'Subject', value: 'probe' }],
          body: Buffer.from('probe\r\n'),
        });
        ctx.count('probes');
        if (result.verdict !== Reply.CONTINUE) return [{ kind: 'violation', message: `probe message got verdict '${result.verdict}'` }];
      } finally {
        await Promise.race([client.quit(), sleep(HANG_MS)]);
        client.destroy();
      }
    } catch (err) {
      return [{ kind: 'violation', message: `server did not serve a fresh connection after a bad one: ${String(err)}` }];
    }
    return [];
  }

  async close(): Promise<void> {
    await this.server.close(1000);
  }
}

export const milterTarget: FuzzTarget<MilterCase> = {
  name: 'milter',
  caseTimeoutMs: 3 * HANG_MS,
  async start(ctx): Promise<TargetSession<MilterCase>> {
    const memoryFilter = new ScriptedFilter();
    const harness = await SocketHarness.start();
    return {
      generate,
      execute: async (c) => {
        ctx.count(c.details.mode);
        if (c.details.unmutated) ctx.count('unmutated');
        const started = Date.now();
        const problems = await (c.details.mode === 'memory' ? runInMemory(c, memoryFilter) : harness.run(c, ctx));
        ctx.count(`${c.details.mode}-ms`, Date.now() - started);
        return problems;
      },
      close: () => harness.close(),
    };
  },
  async generator() {
    return generate;
  },
};
