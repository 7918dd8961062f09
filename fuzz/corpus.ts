/**
 * The shared corpus (`../shared/corpus/` beside the project root), read in place and never copied, and
 * the seeds built from it. Without the corpus, generated messages stand in and the run says so.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { plainQuotedPrintable } from '../test/helpers/plain-qp.js';
import { sharedPath } from '../test/helpers/shared-dir.js';

const MESSAGES = sharedPath('corpus', 'messages');
const TEMPLATES = sharedPath('corpus', 'templates');

export interface Seed {
  name: string;
  raw: Buffer;
}

export function corpusPresent(): boolean {
  return MESSAGES.present;
}

/** Why the corpus is not used ('' when it is). */
export function corpusAbsence(): string {
  return MESSAGES.absence;
}

/** Every corpus message whose file name matches `filter` (all of them by default), sorted by name. */
export function corpusMessages(filter: RegExp = /\.eml$/): Seed[] {
  if (!MESSAGES.present) return [];
  return readdirSync(MESSAGES.path)
    .filter((f) => f.endsWith('.eml') && filter.test(f))
    .sort()
    .map((name) => ({ name, raw: readFileSync(join(MESSAGES.path, name)) }));
}

export function corpusTemplates(): Seed[] {
  if (!TEMPLATES.present) return [];
  return readdirSync(TEMPLATES.path)
    .filter((f) => f.endsWith('.html'))
    .sort()
    .map((name) => ({ name, raw: readFileSync(join(TEMPLATES.path, name)) }));
}

export type WrapEncoding = 'quoted-printable' | 'base64' | '8bit';

/** An HTML template as a message: multipart/alternative with a text part, the HTML in the given encoding. */
export function wrapHtml(html: Buffer, cte: WrapEncoding, charset = 'utf-8'): Buffer {
  const encoded =
    cte === 'base64'
      ? (html.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n')
      : cte === 'quoted-printable'
        ? plainQuotedPrintable(html)
        : html.toString('latin1').replace(/\r?\n/g, '\r\n');
  const text = 'Plain version: https://example.com/plain?a=1&b=2 (and <https://example.com/angle>).\r\n';
  return Buffer.from(
    'From: news@example.com\r\nTo: reader@example.net\r\nSubject: template\r\nMIME-Version: 1.0\r\n' +
      'Content-Type: multipart/alternative; boundary="=_alt"\r\n\r\n' +
      `--=_alt\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n${text}` +
      `--=_alt\r\nContent-Type: text/html; charset=${charset}\r\nContent-Transfer-Encoding: ${cte}\r\n\r\n${encoded}\r\n` +
      '--=_alt--\r\n',
    'latin1',
  );
}

/** Messages to start from when the corpus is absent: a few shapes with links in every encoding. */
export function generatedMessages(): Seed[] {
  const html = Buffer.from(
    '<html><body><p>Hello &amp; welcome</p><a href="https://example.com/a?x=1&amp;y=2">a</a>\n' +
      '<a href="http://example.org/b" data-msys-linkname="b">b</a> <opentag/> <area href="https://example.net/map">\n' +
      '<!--[if mso]><v:roundrect href="https://example.com/button"></v:roundrect><![endif]-->\n</body></html>\n',
    'utf8',
  );
  return [
    ...(['quoted-printable', 'base64', '8bit'] as const).map((cte) => ({ name: `generated-${cte}.eml`, raw: wrapHtml(html, cte) })),
    {
      name: 'generated-plain.eml',
      raw: Buffer.from(
        'From: a@example.com\r\nTo: b@example.net\r\nSubject: plain\r\n\r\nSee https://example.com/x, and <http://example.org/y>.\r\n',
        'latin1',
      ),
    },
  ];
}
