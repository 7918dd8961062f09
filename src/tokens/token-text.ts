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

/** The bytes of a token, or null when the text is not the canonical spelling of any byte string. */
export function decodeTokenText(text: string): Buffer | null {
  if (!TOKEN_TEXT.test(text)) return null;
  const bytes = Buffer.from(text.replaceAll('~', '-'), 'base64url');
  // Node's decoder ignores unused trailing bits and a dangling sixth-bit character; a spelling that does
  // not re-encode to itself was altered.
  return encodeTokenText(bytes) === text ? bytes : null;
}

export function isTokenText(text: string): boolean {
  return TOKEN_TEXT.test(text);
}
