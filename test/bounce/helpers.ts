import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKeyring, encodeInfoHeader, signingKey, type InfoHeaderFields, type Keyring } from '../../src/tokens/index.js';
import { sharedPath } from '../helpers/shared-dir.js';

const here = dirname(fileURLToPath(import.meta.url));
export const FIXTURES = join(here, 'fixtures');
/** The shared corpus (read in place, never copied). */
const corpus = sharedPath('corpus', 'messages');
export const CORPUS = corpus.path;
export const corpusExists = corpus.present;
/** Why the corpus is not used ('' when it is). */
export const corpusAbsence = corpus.absence;

export function keyringFor(label: string, kid = 1): Keyring {
  return createKeyring([signingKey(kid, createHash('sha256').update(`bounce test key ${label}`).digest())], kid);
}

export const ourKeys = keyringFor('ours');
export const otherKeys = keyringFor('someone else');

export const NOW = new Date('2024-06-15T12:00:00Z');

export function identity(recipient: string, extra: Partial<InfoHeaderFields> = {}): InfoHeaderFields {
  return { recipient, sendId: 'a100525', listId: 'list-7', emailCode: 'ec-42', ...extra };
}

/** The header value folded the way an MTA folds it: one chunk per line, continuation lines indented. */
export function foldedValue(keyring: Keyring, fields: InfoHeaderFields, eol: string): string {
  return encodeInfoHeader(keyring, fields).split(' ').join(`${eol} `);
}

function eolOf(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

export function readFixture(name: string): string {
  return readFileSync(join(FIXTURES, name), 'latin1');
}

/** A fixture with its {{INFO_HEADER}} placeholder filled (or the placeholder line removed when fields is null). */
export function fixtureWithHeader(name: string, fields: InfoHeaderFields | null, keyring: Keyring = ourKeys): Buffer {
  const text = readFixture(name);
  const filled =
    fields === null
      ? text.replace(/^X-Mailer-Info-Extra: \{\{INFO_HEADER\}\}\r?\n/m, '')
      : text.replace('{{INFO_HEADER}}', foldedValue(keyring, fields, eolOf(text)));
  return Buffer.from(filled, 'latin1');
}

/**
 * Inserts an X-Mailer-Info-Extra field after the LAST line equal to `anchor` (returned parts come
 * last in a report; the notice may quote the same line earlier). Keeps that line's line ending.
 */
export function injectAfterLine(raw: Buffer, anchor: string, headerValue: string): Buffer {
  const text = raw.toString('latin1');
  const lines = text.split(/(?<=\n)/);
  let index = -1;
  lines.forEach((line, i) => {
    if (line.replace(/\r?\n$/, '') === anchor) index = i;
  });
  if (index === -1) throw new Error(`anchor line not found: ${anchor}`);
  const eol = /\r\n$/.test(lines[index]!) ? '\r\n' : '\n';
  const folded = headerValue.split(' ').join(`${eol} `);
  lines.splice(index + 1, 0, `X-Mailer-Info-Extra: ${folded}${eol}`);
  return Buffer.from(lines.join(''), 'latin1');
}
