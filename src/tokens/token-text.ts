/**
 * Token bytes as URL text: base64url without padding, except that `~` stands in for `-`.
 *
 * Why not plain base64url: a path-preserving link is `/original/path-TOKEN`, and the redirector finds the
 * token after the last `-` of the last path segment. A token free of `-` makes that split unambiguous
 * for every original path. `~` is an RFC 3986 unreserved character, so no encoder has to escape it, and
 * unlike `.` it is not trailing punctuation that mail clients strip off a URL in plain text.
 */

const TOKEN_TEXT = /^[A-Za-z0-9_~]+$/;

/** base64url's alphabet with `~` at 62, as ASCII codes. */
const ALPHABET = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~_', 'latin1');
// Characters are written here and read out as one latin1 string: a third of what base64url and
// replaceAll cost on a token's 40 to 100 bytes. Grown when a longer token comes.
let scratch = Buffer.allocUnsafe(256);

/** The text of bytes[0, length). */
export function encodeTokenText(bytes: Uint8Array, length = bytes.length): string {
  const chars = Math.ceil((length * 4) / 3);
  if (scratch.length < chars) scratch = Buffer.allocUnsafe(chars * 2);
  const out = scratch;
  let at = 0;
  let i = 0;
  for (; i + 2 < length; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[at++] = ALPHABET[v >>> 18]!;
    out[at++] = ALPHABET[(v >>> 12) & 63]!;
    out[at++] = ALPHABET[(v >>> 6) & 63]!;
    out[at++] = ALPHABET[v & 63]!;
  }
  // One or two bytes left: two or three characters, no padding.
  if (i < length) {
    const two = i + 1 < length;
    const v = (bytes[i]! << 16) | (two ? bytes[i + 1]! << 8 : 0);
    out[at++] = ALPHABET[v >>> 18]!;
    out[at++] = ALPHABET[(v >>> 12) & 63]!;
    if (two) out[at++] = ALPHABET[(v >>> 6) & 63]!;
  }
  return out.toString('latin1', 0, at);
}

/** Each ASCII code's six bits in the alphabet, -1 for any other character. */
const SIXTETS = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) SIXTETS[ALPHABET[i]!] = i;

/**
 * The bytes of a token, or null when the text is not the canonical spelling of any byte string: a
 * character outside the alphabet, a length that leaves a dangling sixth-bit character, or unused
 * trailing bits that are not zero (encodeTokenText never writes such a spelling, so it was altered).
 * One pass over the characters: the redirector decodes a token per click.
 */
export function decodeTokenText(text: string): Buffer | null {
  const chars = text.length;
  const rest = chars & 3;
  if (chars === 0 || rest === 1) return null;
  const bytes = Buffer.allocUnsafe((chars >> 2) * 3 + (rest === 0 ? 0 : rest - 1));
  let at = 0;
  let i = 0;
  for (; i + 3 < chars; i += 4) {
    const v = (sixtet(text, i) << 18) | (sixtet(text, i + 1) << 12) | (sixtet(text, i + 2) << 6) | sixtet(text, i + 3);
    if (v < 0) return null;
    bytes[at++] = v >>> 16;
    bytes[at++] = (v >>> 8) & 0xff;
    bytes[at++] = v & 0xff;
  }
  if (rest === 2) {
    const a = sixtet(text, i);
    const b = sixtet(text, i + 1);
    if ((a | b) < 0 || (b & 0x0f) !== 0) return null;
    bytes[at] = (a << 2) | (b >> 4);
  } else if (rest === 3) {
    const a = sixtet(text, i);
    const b = sixtet(text, i + 1);
    const c = sixtet(text, i + 2);
    if ((a | b | c) < 0 || (c & 0x03) !== 0) return null;
    bytes[at++] = (a << 2) | (b >> 4);
    bytes[at] = ((b & 0x0f) << 4) | (c >> 2);
  }
  return bytes;
}

/** The six bits of text[i], or -1 (and so a negative word once or'ed in) when it is not in the alphabet. */
function sixtet(text: string, i: number): number {
  const code = text.charCodeAt(i);
  return code < 128 ? SIXTETS[code]! : -1;
}

export function isTokenText(text: string): boolean {
  return TOKEN_TEXT.test(text);
}
