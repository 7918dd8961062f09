/**
 * A compact binary writer and reader for token payloads: unsigned LEB128 varints, raw bytes and
 * length-prefixed UTF-8 strings. The reader never throws: every read reports failure through `ok`, so a
 * decoder can turn any malformed input into a typed rejection.
 */

/** Varints are capped at 5 bytes (35 bits): positions and lengths in a token never come close. */
export const MAX_VARINT_BYTES = 5;
export const MAX_VARINT = 2 ** (7 * MAX_VARINT_BYTES) - 1;

// ignoreBOM: a leading U+FEFF is part of the value (a SendID may start with one), not a byte-order mark.
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
// In a `u` regex a surrogate range only matches surrogates that are not part of a pair.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Writes value (0..MAX_VARINT, checked by the caller) at `at`; returns where it ends. */
export function writeVarint(out: Uint8Array, at: number, value: number): number {
  let rest = value;
  // Arithmetic rather than bit operators: values may exceed 31 bits.
  while (rest >= 0x80) {
    out[at++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  out[at++] = rest;
  return at;
}

/**
 * Writes into one buffer that grows by doubling: a token body is a handful of small fields, and a
 * Buffer per field joined by Buffer.concat cost more than the fields themselves.
 */
export class ByteWriter {
  private buffer = Buffer.allocUnsafe(64);
  private size = 0;

  byte(value: number): this {
    this.ensure(1);
    this.buffer[this.size++] = value & 0xff;
    return this;
  }

  varint(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > MAX_VARINT) {
      throw new RangeError(`varint out of range: ${value}`);
    }
    this.ensure(MAX_VARINT_BYTES);
    this.size = writeVarint(this.buffer, this.size, value);
    return this;
  }

  bytes(value: Uint8Array): this {
    this.ensure(value.byteLength);
    this.buffer.set(value, this.size);
    this.size += value.byteLength;
    return this;
  }

  /** Length-prefixed bytes. */
  sizedBytes(value: Uint8Array): this {
    return this.varint(value.byteLength).bytes(value);
  }

  /** Length-prefixed UTF-8. A string with a lone surrogate cannot round-trip, so it is refused. */
  string(value: string): this {
    if (LONE_SURROGATE.test(value)) throw new RangeError('string holds a lone surrogate and cannot be encoded exactly');
    const length = Buffer.byteLength(value, 'utf8');
    this.varint(length);
    this.ensure(length);
    this.size += this.buffer.write(value, this.size, length, 'utf8');
    return this;
  }

  /** What was written, as a view: the writer is done with once this is taken. */
  toBuffer(): Buffer {
    return this.buffer.subarray(0, this.size);
  }

  private ensure(more: number): void {
    if (this.size + more <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.size + more));
    this.buffer.copy(grown, 0, 0, this.size);
    this.buffer = grown;
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
