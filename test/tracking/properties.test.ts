/**
 * Property tests of the whole rewriting pipeline: random HTML and text with links, in random transfer
 * encodings and charsets, as a single part or multipart/alternative. The invariants of
 * pipeline-check.ts hold for every generated message. PROPERTY_RUNS raises the count for a long run.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { planRewrite, type RewriteSettings } from '../../src/tracking/plan-rewrite.js';
import { splitMessage } from '../../src/mime/message-split.js';
import { CHARSETS, CTES, encodeContent, type Cte } from '../mime/fixtures.js';
import { RecordingMinter } from '../rewrite/recording-minter.js';
import { checkPlan } from './pipeline-check.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 150);
const SETTINGS: RewriteSettings = {
  clicks: true,
  opens: true,
  maxLinks: 10_000,
  skipDkimSigned: true,
  limits: { maxDepth: 20, maxParts: 500, maxPartBytes: 10 * 1024 * 1024 },
};

const word = fc.stringMatching(/^[a-z0-9]{1,12}$/);
const url = fc
  .tuple(fc.constantFrom('http', 'https', 'HTTPS'), word, fc.array(word, { maxLength: 4 }), fc.option(fc.array(fc.tuple(word, word), { maxLength: 3 })))
  .map(([scheme, host, path, query]) => {
    const q = query && query.length > 0 ? `?${query.map(([k, v]) => `${k}=${v}`).join('&')}` : '';
    return `${scheme}://${host}.example/${path.join('/')}${q}`;
  });
const prose = fc
  .array(fc.constantFrom('word', 'Grüße', 'café', '日本', '—', ' ', '\n', '.', '(x)', '&', '<b>bold</b>'), { maxLength: 12 })
  .map((a) => a.join(''));

const htmlDoc = fc
  .array(
    fc.oneof(
      prose.map((t) => t.replace(/&/g, '&amp;')),
      url.map((u) => `<a href="${u.replace(/&/g, '&amp;')}">link</a>`),
      url.map((u) => `<a href='${u}' data-msys-linkname="n1">named</a>`),
      url.map((u) => `<a href="${u}" data-notrack>kept</a>`),
      fc.constant('<a href="mailto:x@example.com">mail</a>'),
      fc.constant('<opentag/>'),
      url.map((u) => `<!--[if mso]><v:roundrect href="${u}"></v:roundrect><![endif]-->`),
    ),
    { maxLength: 15 },
  )
  .chain((pieces) => fc.boolean().map((body) => (body ? `<html><body>${pieces.join('\n')}</body></html>` : pieces.join('\n'))));
const textDoc = fc
  .array(
    fc.oneof(
      prose,
      url,
      url.map((u) => `<${u}>`),
      url.map((u) => `(${u}).`),
    ),
    { maxLength: 15 },
  )
  .map((a) => a.join(' '));

/** Charsets that can carry the generated prose; elsewhere what they cannot hold becomes '?'. */
function representable(charset: string, text: string): string {
  if (charset === 'utf-8' || charset === 'utf-16') return text;
  const limit = charset === 'iso-8859-1' || charset === 'windows-1252' ? 0xff : 0x7f;
  return [...text].map((c) => (c.codePointAt(0)! > limit && !(charset === 'windows-1252' && c === '—') ? '?' : c)).join('');
}

function part(kind: 'html' | 'text', text: string, charsetName: string, cte: Cte): { headers: string; content: Buffer } | null {
  const charset = CHARSETS.find((c) => c.name === charsetName)!;
  const data = charset.encode((charset.textPrefix ?? '') + representable(charsetName, text).replace(/\r?\n/g, '\r\n'));
  // 7bit cannot carry 8-bit data, and 7bit/8bit cannot carry lines over 998 octets: such inputs are not valid mail.
  if (cte === '7bit' && data.some((b) => b > 0x7f)) return null;
  if (
    (cte === '7bit' || cte === '8bit') &&
    data
      .toString('latin1')
      .split('\r\n')
      .some((l) => l.length > 998)
  )
    return null;
  if ((cte === '7bit' || cte === '8bit') && !charset.lineBreaksAreText) return null;
  return {
    headers: `Content-Type: text/${kind === 'html' ? 'html' : 'plain'}; charset="${charsetName}"\r\nContent-Transfer-Encoding: ${cte}\r\n`,
    content: encodeContent(data, cte, '\r\n', charset.lineBreaksAreText),
  };
}

const charsetName = fc.constantFrom(...CHARSETS.map((c) => c.name));
const cte = fc.constantFrom(...CTES);

/** Runs the pipeline and its checks; counts messages whose links were rewritten, so a vacuous run shows. */
let rewrittenMessages = 0;
function check(headers: Array<{ name: string; value: string }>, body: Buffer): void {
  const minter = new RecordingMinter();
  const plan = planRewrite(headers, body, minter, SETTINGS);
  if (plan.links.length > 0) rewrittenMessages++;
  checkPlan(body, plan, minter);
}

describe('the rewriting pipeline on generated messages', () => {
  afterAll(() => {
    expect(rewrittenMessages).toBeGreaterThan(RUNS / 4);
  });

  it('single-part html or text: invariants hold', () => {
    fc.assert(
      fc.property(fc.boolean(), htmlDoc, textDoc, charsetName, cte, (isHtml, html, text, cs, enc) => {
        const p = part(isHtml ? 'html' : 'text', isHtml ? html : text, cs, enc);
        if (!p) return;
        const raw = Buffer.concat([Buffer.from(`From: a@example.com\r\nMIME-Version: 1.0\r\n${p.headers}\r\n`, 'latin1'), p.content]);
        const { headers, body } = splitMessage(raw);
        check(headers, body);
      }),
      { numRuns: RUNS },
    );
  });

  it('multipart/alternative with text and html in different encodings: invariants hold', () => {
    fc.assert(
      fc.property(htmlDoc, textDoc, charsetName, cte, charsetName, cte, (html, text, cs1, enc1, cs2, enc2) => {
        const t = part('text', text, cs1, enc1);
        const h = part('html', html, cs2, enc2);
        if (!t || !h) return;
        const body = Buffer.concat([
          Buffer.from(`preamble\r\n--b\r\n${t.headers}\r\n`, 'latin1'),
          t.content,
          Buffer.from(`\r\n--b\r\n${h.headers}\r\n`, 'latin1'),
          h.content,
          Buffer.from('\r\n--b--\r\nepilogue\r\n', 'latin1'),
        ]);
        const headers = [
          { name: 'MIME-Version', value: '1.0' },
          { name: 'Content-Type', value: 'multipart/alternative; boundary="b"' },
        ];
        check(headers, body);
      }),
      { numRuns: RUNS },
    );
  });
});
