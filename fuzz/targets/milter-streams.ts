/**
 * Packet streams an MTA sends, built with the project's own encoders (src/milter/commands.ts, codec.ts),
 * and mutations of them at the packet level and the byte level.
 */
import { encodePacket, u32 } from '../../src/milter/codec.js';
import { encodeConnect, encodeEnvelope, encodeHeader, encodeMacro } from '../../src/milter/commands.js';
import { Cmd } from '../../src/milter/constants.js';
import { POSTFIX_OFFER } from '../../src/milter/client.js';
import { mutateBytes } from '../mutate.js';
import type { Rng } from '../random.js';

export interface Stream {
  packets: Buffer[];
  /** Messages that reach end of message (not aborted): each gets exactly one verdict in an unmutated stream. */
  messages: number;
}

const HTML = '<html><body><a href="https://example.com/a?x=1&amp;y=2">a</a> <opentag/></body></html>\r\n';

function body(rng: Rng): Buffer {
  switch (rng.below(5)) {
    case 0:
      return Buffer.alloc(0);
    case 1:
      return Buffer.from(HTML.repeat(1 + rng.skewed(3000)), 'latin1');
    case 2:
      return rng.bytes(rng.skewed(200_000));
    default:
      return Buffer.from(`Hello https://example.com/${rng.text(8, 'abcdefgh')}\r\n`.repeat(1 + rng.skewed(50)), 'latin1');
  }
}

/**
 * One valid MTA conversation: negotiation (Postfix's offer, or a random one), then one or more messages
 * (some aborted), then QUIT or not.
 */
export function validStream(rng: Rng, postfixOffer: boolean): Stream {
  const packets: Buffer[] = [];
  const offer =
    postfixOffer || rng.chance(0.6)
      ? POSTFIX_OFFER
      : { version: rng.pick([2, 3, 4, 6, 7, 255]), actions: rng.chance(0.5) ? 0 : rng.u32() & 0x1ff, protocol: rng.u32() & 0x1fffff };
  packets.push(encodePacket(Cmd.OPTNEG, u32(offer.version, offer.actions, offer.protocol)));
  if (rng.chance(0.6)) packets.push(encodeMacro(Cmd.CONNECT, { j: 'mx.example', daemon_name: 'smtpd', v: 'Postfix' }));
  packets.push(encodeConnect({ hostname: 'client.example', family: rng.pick(['inet', 'inet6', 'unix', 'unknown'] as const), port: 25, address: '192.0.2.1' }));
  packets.push(encodePacket(Cmd.HELO, Buffer.from('client.example\0', 'latin1')));
  let messages = 0;
  const count = 1 + rng.skewed(3);
  for (let m = 0; m < count; m++) {
    packets.push(encodeMacro(Cmd.MAIL, { i: `Q${m}${rng.text(6, 'ABCDEF0123')}`, mail_addr: 'from@example.com' }));
    packets.push(encodeEnvelope(Cmd.MAIL, { address: 'from@example.com', args: rng.chance(0.3) ? ['BODY=8BITMIME', 'SIZE=100'] : [] }));
    const rcpts = 1 + rng.skewed(3);
    for (let r = 0; r < rcpts; r++) packets.push(encodeEnvelope(Cmd.RCPT, { address: `rcpt${r}@example.net`, args: [] }));
    packets.push(encodePacket(Cmd.DATA));
    const headers = [
      { name: 'From', value: 'from@example.com' },
      { name: 'Subject', value: rng.text(rng.skewed(200), 'abc xyz\u00e9') },
      { name: 'Content-Type', value: rng.pick(['text/html; charset=utf-8', 'text/plain', 'multipart/alternative; boundary=b']) },
      ...(rng.chance(0.3)
        ? [
            { name: 'X-GreenArrow-MailClass', value: 'a' },
            { name: 'X-GreenArrow-InstanceID', value: '100525' },
          ]
        : []),
    ];
    for (const h of headers) packets.push(encodeHeader(h));
    packets.push(encodePacket(Cmd.EOH));
    const content = body(rng);
    const chunk = rng.pick([65535, 65535, 1000, 1]);
    for (let off = 0; off < content.length && off < 2_000_000; off += chunk) packets.push(encodePacket(Cmd.BODY, content.subarray(off, off + chunk)));
    if (rng.chance(0.1)) {
      packets.push(encodePacket(Cmd.ABORT));
      continue;
    }
    packets.push(encodePacket(Cmd.BODYEOB));
    messages++;
    if (rng.chance(0.15)) packets.push(encodePacket(Cmd.QUIT_NC));
  }
  if (rng.chance(0.5)) packets.push(encodePacket(Cmd.QUIT));
  return { packets, messages };
}

const CODES = 'ABCDEHKLMNOQRTU';

/** A packet with a random or unknown command and random data. */
function randomPacket(rng: Rng): Buffer {
  const code = rng.chance(0.7) ? rng.pick([...CODES]) : String.fromCharCode(rng.below(256));
  return encodePacket(code, rng.bytes(rng.skewed(300)));
}

/** A frame header announcing `length` bytes, followed by fewer (or more) than that. */
function badLength(rng: Rng, packet: Buffer): Buffer {
  // An earlier mutation may have cut the packet below the 4 length bytes.
  const out = Buffer.alloc(Math.max(4, packet.length));
  packet.copy(out);
  const length = rng.pick([0, 1, 2, packet.length - 5, packet.length + 10, 1024 * 1024, 1024 * 1024 + 1, 0x7fffffff, 0xffffffff, rng.u32()]);
  out.writeUInt32BE(length >>> 0, 0);
  return out;
}

/** Packet-level mutations, then maybe byte-level ones on the joined stream. */
export function mutateStream(rng: Rng, stream: Stream): { data: Buffer; label: string } {
  const packets = [...stream.packets];
  const labels: string[] = [];
  const n = rng.skewed(4);
  for (let i = 0; i < n && packets.length > 0; i++) {
    const at = rng.below(packets.length);
    switch (rng.below(8)) {
      case 0:
        packets.splice(at, 1);
        labels.push(`drop packet ${at}`);
        break;
      case 1:
        packets.splice(at, 0, packets[at]!);
        labels.push(`duplicate packet ${at}`);
        break;
      case 2: {
        const other = rng.below(packets.length);
        [packets[at], packets[other]] = [packets[other]!, packets[at]!];
        labels.push(`swap packets ${at} ${other}`);
        break;
      }
      case 3:
        packets.splice(at, 0, randomPacket(rng));
        labels.push(`random packet at ${at}`);
        break;
      case 4:
        packets[at] = badLength(rng, packets[at]!);
        labels.push(`bad length in packet ${at}`);
        break;
      case 5: {
        const m = mutateBytes(rng, packets[at]!.subarray(5));
        packets[at] = encodePacket(String.fromCharCode(packets[at]![4]!), m.data);
        labels.push(`packet ${at} data: ${m.label}`);
        break;
      }
      case 6:
        packets.splice(at);
        labels.push(`cut after packet ${at}`);
        break;
      default:
        packets.splice(at, 0, rng.bytes(1 + rng.skewed(64)));
        labels.push(`garbage at ${at}`);
    }
  }
  let data: Buffer = Buffer.concat(packets);
  if (rng.chance(0.25)) {
    const m = mutateBytes(rng, data);
    data = m.data;
    labels.push(`stream: ${m.label}`);
  }
  return { data, label: labels.join('; ') || 'unmutated' };
}

/** Read sizes the stream arrives in: whole, one byte at a time for a while, random, or packet-sized. */
export function splitSizes(rng: Rng, length: number): number[] {
  const sizes: number[] = [];
  const style = rng.below(4);
  for (let left = length; left > 0;) {
    const size = style === 0 ? left : style === 1 ? (sizes.length < 300 ? 1 : left) : style === 2 ? 1 + rng.skewed(70_000) : 1 + rng.below(16);
    sizes.push(Math.min(size, left));
    left -= size;
  }
  return sizes;
}

/** Whether the stream is a clean sequence of frames with lengths 1..maxPacket (walked independently of the decoder). */
export function framingIntact(data: Buffer, maxPacket: number): boolean {
  let at = 0;
  while (at < data.length) {
    if (data.length - at < 4) return false;
    const length = data.readUInt32BE(at);
    if (length === 0 || length > maxPacket || at + 4 + length > data.length) return false;
    at += 4 + length;
  }
  return true;
}
