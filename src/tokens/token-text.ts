/**
 * Token bytes as URL text: base64url without padding, except that `~` stands in for `-`.
 *
 * Why not plain base64url: a path-preserving link is `/original/path-TOKEN`, and the redirector finds the
 * token after the last `-` of the last path segment. A token free of `-` makes that split unambiguous
 * for every original path. `~` is an RFC 3986 unreserved character, so no encoder has to escape it, and
 * unlike `.` it is not trailing punctuation that mail clients strip off a URL in plain text.
 */

const TOKEN_TEXT = /^[A-Za-z0-9_~]+$/;

export function encodeTokenText(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url').replaceAll('-', '~');
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
