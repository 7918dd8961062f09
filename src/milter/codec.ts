// Framing of milter packets: `u32 length (command byte + data) | command byte | data`.
// The decoder is incremental and indifferent to how reads split or coalesce packets.
import { DEFAULT_MAX_PACKET } from './constants.js';
import { CodedError } from '../util/errors.js';
import { MilterErrorCode } from './errors.js';

export interface Packet {
  /** The command or reply code, one ASCII character. */
  code: string;
  data: Buffer;
}

const FRAME_HEADER_BYTES = 4;

export class FrameDecoder {
  private readonly maxPacket: number;
  private header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerFill = 0;
  /** Packet being assembled across reads (command byte + data), or null while reading a header. */
  private partial: Buffer | null = null;
  private partialFill = 0;
  private failed = false;

  constructor(options: { maxPacket?: number } = {}) {
    this.maxPacket = options.maxPacket ?? DEFAULT_MAX_PACKET;
  }

  /** Bytes held for a packet that has not fully arrived; non-zero at EOF means a truncated packet. */
  get pendingBytes(): number {
    return this.partial === null ? this.headerFill : FRAME_HEADER_BYTES + this.partialFill;
  }

  /**
   * Feed bytes; returns the packets they complete. Throws a CodedError (`EMILTER_FRAME_LENGTH`) on a
   * length of 0 or above the limit: the stream cannot be resynchronised after that, so the caller closes.
   * The packets completed before the bad length in the same chunk are lost with the throw: a caller that
   * must serve them uses decode().
   */
  push(chunk: Buffer): Packet[] {
    const { packets, error } = this.decode(chunk);
    if (error) throw error;
    return packets;
  }

  /**
   * Feed bytes; returns the packets they complete and, after a bad length, the error (as push() throws
   * it) with the whole packets that came before it in this chunk. Every later call returns the error
   * `EMILTER_DECODER_FAILED` and no packets.
   */
  decode(chunk: Buffer): { packets: Packet[]; error?: CodedError } {
    if (this.failed) return { packets: [], error: new CodedError(MilterErrorCode.DECODER_FAILED, 'decoder already failed; the connection must close') };
    const packets: Packet[] = [];
    try {
      this.decodeInto(chunk, packets);
    } catch (err) {
      if (!(err instanceof CodedError)) throw err;
      return { packets, error: err };
    }
    return { packets };
  }

  private decodeInto(chunk: Buffer, packets: Packet[]): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.partial === null) {
        const avail = chunk.length - offset;
        if (this.headerFill === 0 && avail >= FRAME_HEADER_BYTES) {
          const length = this.checkLength(chunk.readUInt32BE(offset));
          offset += FRAME_HEADER_BYTES;
          // Fast path: the whole packet is in this read; take a view instead of copying.
          if (chunk.length - offset >= length) {
            packets.push(toPacket(chunk.subarray(offset, offset + length)));
            offset += length;
            continue;
          }
          this.startPartial(length);
          continue;
        }
        const take = Math.min(FRAME_HEADER_BYTES - this.headerFill, avail);
        chunk.copy(this.header, this.headerFill, offset, offset + take);
        this.headerFill += take;
        offset += take;
        if (this.headerFill === FRAME_HEADER_BYTES) {
          this.headerFill = 0;
          this.startPartial(this.checkLength(this.header.readUInt32BE(0)));
        }
        continue;
      }
      const take = Math.min(this.partial.length - this.partialFill, chunk.length - offset);
      chunk.copy(this.partial, this.partialFill, offset, offset + take);
      this.partialFill += take;
      offset += take;
      if (this.partialFill === this.partial.length) {
        packets.push(toPacket(this.partial));
        this.partial = null;
        this.partialFill = 0;
      }
    }
  }

  private startPartial(length: number): void {
    this.partial = Buffer.allocUnsafe(length);
    this.partialFill = 0;
  }

  private checkLength(length: number): number {
    if (length === 0 || length > this.maxPacket) {
      this.failed = true;
      throw new CodedError(
        MilterErrorCode.FRAME_LENGTH,
        length === 0 ? 'milter packet with length 0' : `milter packet length ${length} exceeds limit ${this.maxPacket}`,
      );
    }
    return length;
  }
}

function toPacket(frame: Buffer): Packet {
  return { code: String.fromCharCode(frame[0]!), data: frame.subarray(1) };
}

/** One buffer holding a whole packet, so that it goes out in a single write. */
export function encodePacket(code: string, ...parts: Buffer[]): Buffer {
  let dataLength = 0;
  for (const p of parts) dataLength += p.length;
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 1 + dataLength);
  out.writeUInt32BE(dataLength + 1, 0);
  out[FRAME_HEADER_BYTES] = code.charCodeAt(0);
  let offset = FRAME_HEADER_BYTES + 1;
  for (const p of parts) {
    p.copy(out, offset);
    offset += p.length;
  }
  return out;
}

// --- payload helpers shared by both directions ---

/** `s1\0s2\0...` */
export function cstrings(...values: string[]): Buffer {
  return Buffer.from(values.map((v) => `${v}\0`).join(''), 'latin1');
}

export function u32(...values: number[]): Buffer {
  const b = Buffer.allocUnsafe(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
}

/**
 * Split NUL-terminated strings. A final string without its NUL is kept (lenient), as MTAs in the
 * wild occasionally omit it. Latin-1 keeps every byte of 8-bit header values recoverable.
 */
export function splitCStrings(data: Buffer): string[] {
  if (data.length === 0) return [];
  const text = data.toString('latin1');
  const parts = text.split('\0');
  if (text.endsWith('\0')) parts.pop();
  return parts;
}
