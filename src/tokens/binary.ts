/**
 * A compact binary writer and reader for token payloads: unsigned LEB128 varints, raw bytes and
 * length-prefixed UTF-8 strings. The reader never throws: every read reports failure through `ok`, so a
 * decoder can turn any malformed input into a typed rejection.
 */

/** Varints are capped at 5 bytes (35 bits): positions and lengths in a token never come close. */
const MAX_VARINT_BYTES = 5;
export const MAX_VARINT = 2 ** (7 * MAX_VARINT_BYTES) - 1;

// ignoreBOM: a leading U+FEFF is part of the value (a SendID may start with one), not a byte-order mark.
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
// In a `u` regex a surrogate range only matches surrogates that are not part of a pair.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

export class ByteWriter {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  byte(value: number): this {
    return this.push(Buffer.of(value & 0xff));
  }

  varint(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > MAX_VARINT) {
      throw new RangeError(`varint out of range: ${value}`);
    }
    const out: number[] = [];
    let rest = value;
    // Arithmetic rather than bit operators: values may exceed 31 bits.
    while (rest >= 0x80) {
      out.push((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    out.push(rest);
    return this.push(Buffer.from(out));
  }

  bytes(value: Uint8Array): this {
    return this.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }

  /** Length-prefixed bytes. */
  sizedBytes(value: Uint8Array): this {
    return this.varint(value.byteLength).bytes(value);
  }

  /** Length-prefixed UTF-8. A string with a lone surrogate cannot round-trip, so it is refused. */
  string(value: string): this {
    if (LONE_SURROGATE.test(value)) throw new RangeError('string holds a lone surrogate and cannot be encoded exactly');
    return this.sizedBytes(Buffer.from(value, 'utf8'));
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }

  private push(chunk: Buffer): this {
    this.chunks.push(chunk);
    this.size += chunk.length;
    return this;
  }
}

export class ByteReader {
  private offset = 0;
  /** False once any read ran past the end or met an invalid value; later reads return placeholders. */
  ok = true;

  constructor(private readonly input: Buffer) {}

  get atEnd(): boolean {
    return this.offset === this.input.length;
  }

  /** True when every read succeeded and nothing is left over. */
  get complete(): boolean {
    return this.ok && this.atEnd;
  }

  byte(): number {
    if (!this.ok || this.offset >= this.input.length) return this.fail(0);
    return this.input[this.offset++] as number;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      const b = this.byte();
      if (!this.ok) return 0;
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return value;
      scale *= 0x80;
    }
    return this.fail(0);
  }

  bytes(length: number): Buffer {
    if (!this.ok || length > this.input.length - this.offset) return this.fail(Buffer.alloc(0));
    const out = this.input.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  sizedBytes(): Buffer {
    return this.bytes(this.varint());
  }

  string(): string {
    const raw = this.sizedBytes();
    if (!this.ok) return '';
    try {
      return STRICT_UTF8.decode(raw);
    } catch {
      return this.fail('');
    }
  }

  /** Everything not read yet. */
  rest(): Buffer {
    return this.bytes(this.input.length - this.offset);
  }

  private fail<T>(placeholder: T): T {
    this.ok = false;
    return placeholder;
  }
}
