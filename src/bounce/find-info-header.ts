/**
 * Finds our X-Mailer-Info-Extra header in what a report returns: the header block of a returned
 * message (message/rfc822, text/rfc822-headers and their RFC 6532 global forms), or header lines
 * quoted in the report's text. Only candidates are collected here; verification is the keyring's.
 *
 * The report's own top-level headers are never looked at: when a milter stamps mail the MTA
 * generates (a bounce sent through Postfix's cleanup with non_smtpd_milters), the header there
 * names the bounce's recipient, not the recipient the bounce is about.
 */
import { decodeInfoHeader, INFO_HEADER_NAME, type Keyring, type RecipientIdentity, type RejectionCode } from '../tokens/index.js';
import { fieldValues, readHeaderBlock } from './parts.js';

const HEADER_NAME = INFO_HEADER_NAME.toLowerCase();
/** Our value is base64url in space-separated chunks; a quoted continuation line holds nothing else. */
const VALUE_CHUNKS = /^[A-Za-z0-9_-]+(?:[ \t]+[A-Za-z0-9_-]+)*$/;
const HEADER_LINE = new RegExp(`^[ \\t]*${INFO_HEADER_NAME}[ \\t]*:[ \\t]*(.*)$`, 'i');
/** A report returns one message; more candidates than this are noise, not more chances. */
const MAX_CANDIDATES = 20;

/** X-Mailer-Info-Extra values in a returned message's header block (the bytes of the part). */
export function infoHeadersInHeaderBlock(block: Buffer): string[] {
  return fieldValues(readHeaderBlock(block).fields, HEADER_NAME).slice(0, MAX_CANDIDATES);
}

interface QuotedInfoHeader {
  value: string;
  /** Index of the line where the quoted header field starts. */
  line: number;
}

/**
 * X-Mailer-Info-Extra lines quoted in text, with their folded continuation lines. Continuation
 * lines are taken only while they look like our value, so a quoted header followed by other
 * indented text still yields a clean candidate.
 */
export function infoHeadersInText(lines: string[]): QuotedInfoHeader[] {
  const found: QuotedInfoHeader[] = [];
  for (let i = 0; i < lines.length && found.length < MAX_CANDIDATES; i++) {
    const match = HEADER_LINE.exec(lines[i]!);
    if (!match) continue;
    let value = match[1]!.trim();
    for (let next = i + 1; next < lines.length; next++) {
      const line = lines[next]!;
      if (!/^[ \t]/.test(line) || !VALUE_CHUNKS.test(line.trim())) break;
      value = `${value} ${line.trim()}`;
    }
    found.push({ value, line: i });
  }
  return found;
}

export type IdentityLookup =
  | { ok: true; identity: RecipientIdentity; kid: number }
  | { ok: false; reason: 'no-info-header' }
  | { ok: false; reason: 'info-header-invalid'; code: RejectionCode };

/** The first candidate that verifies; otherwise why none did. */
export function verifyCandidates(keyring: Keyring, candidates: string[]): IdentityLookup {
  let firstRejection: RejectionCode | undefined;
  for (const candidate of candidates) {
    const decoded = decodeInfoHeader(keyring, candidate);
    if (decoded.ok) {
      const { recipient, sendId, listId, emailCode, kid } = decoded;
      return { ok: true, identity: { recipient, sendId, listId, emailCode }, kid };
    }
    firstRejection ??= decoded.code;
  }
  return firstRejection === undefined ? { ok: false, reason: 'no-info-header' } : { ok: false, reason: 'info-header-invalid', code: firstRejection };
}
