/**
 * The whole rewriting pipeline (MIME + HTML/text rewriters, as the milter runs it) over the shared
 * corpus: every message as it is, and every HTML template wrapped into messages with several transfer
 * encodings. The corpus is read in place (never copied); without it the suite says so and is skipped.
 *
 * Invariants: (1) no exception; (2) every byte outside the rewritten parts identical; (3) decoding a
 * rewritten part with an independent decoder and putting back the originals from the minter's own map
 * gives the original decoded part (pixel and removed opt-out markers aside); (4) no line over 998
 * octets, valid quoted-printable and base64; (5) as many links rewritten as an independent parse5 tree
 * walk finds trackable.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { planRewrite, type RewritePlan, type RewriteSettings } from '../../src/filter/plan-rewrite.js';
import { splitMessage } from '../../src/milter/client.js';
import type { PartReport } from '../../src/mime/index.js';
import { openPixelHtml } from '../../src/rewrite/pixel.js';
import { expectUntouchedOutsideEdits } from '../mime/helpers.js';
import { PIXEL_URL, RecordingMinter, unmintHtml, unmintText } from '../rewrite/recording-minter.js';
import { countTrackableLinks } from '../rewrite/trackable-count.js';

const CORPUS = fileURLToPath(new URL('../../../shared/corpus/', import.meta.url));
const present = existsSync(CORPUS);
if (!present) console.log(`test/filter/corpus.test.ts skipped: the shared corpus is not at ${CORPUS}`);

const SETTINGS: RewriteSettings = {
  clicks: true,
  opens: true,
  maxLinks: 10_000,
  skipDkimSigned: false,
  limits: { maxDepth: 20, maxParts: 500, maxPartBytes: 10 * 1024 * 1024 },
};

const MARKERS =
  /\s+(?:data-msys-clicktrack\s*=\s*(["']?)0\1|data-notrack(?:\s*=\s*(["'])[^"']*\2)?|clicktracking\s*=\s*(["']?)off\3|data-mautic-disable-tracking(?:\s*=\s*(["'])[^"']*\4)?|data-msys-linkname\s*=\s*(["'])[^"']*\5)/gi;
const PIXEL = openPixelHtml(PIXEL_URL);

// --- an independent decoder: transfer encodings by hand, charsets by iconv-lite ---

function decodeTransfer(cte: string, raw: Buffer): Buffer {
  if (cte === 'base64') return Buffer.from(raw.toString('latin1').replace(/[^A-Za-z0-9+/]/g, ''), 'base64');
  if (cte !== 'quoted-printable') return raw;
  const text = raw.toString('latin1').replace(/[ \t]+(?=\r?\n)/g, '').replace(/=\r?\n/g, '');
  return Buffer.from(text.replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
}

function decodeCharset(charset: string, data: Buffer): string | null {
  const name = charset === 'us-ascii' ? 'latin1' : charset;
  return iconv.encodingExists(name) ? iconv.decode(data, name, { stripBOM: false }) : null;
}

function decodePart(body: Buffer, range: { start: number; end: number }, cte: string, charset: string): string | null {
  return decodeCharset(charset, decodeTransfer(cte, body.subarray(range.start, range.end)));
}

function expectValidEncoding(content: Buffer, cte: string): void {
  const lines = content.toString('latin1').split(/\r?\n/);
  for (const line of lines) expect(Buffer.byteLength(line, 'latin1')).toBeLessThanOrEqual(998);
  if (cte === 'quoted-printable') {
    for (const line of lines) {
      expect(line.length).toBeLessThanOrEqual(76);
      expect(line).toMatch(/^(?:[\x21-\x3c\x3e-\x7e \t]|=[0-9A-F]{2})*=?$/);
    }
  }
  if (cte === 'base64') {
    for (const line of lines) expect(line).toMatch(/^[A-Za-z0-9+/]{0,76}={0,2}$/);
  }
}

/** (2)–(5) for one message, given what the rewriter did. */
function checkPlan(body: Buffer, plan: RewritePlan, minter: RecordingMinter): void {
  if (!plan.body) {
    expect(plan.links).toEqual([]);
    return;
  }
  expectUntouchedOutsideEdits(body, { body: plan.body, headerChanges: [], parts: plan.parts });
  for (const part of plan.parts.filter((p): p is PartReport & { output: { start: number; end: number } } => p.changed && !!p.output)) {
    const cte = part.newCte ?? part.cte;
    expectValidEncoding(plan.body.subarray(part.output.start, part.output.end), cte);
    const before = decodePart(body, part, part.cte, part.charset);
    const after = decodePart(plan.body, part.output, cte, part.charset);
    if (before === null || after === null) continue; // a charset iconv-lite lacks (ISO-2022-JP): covered by the mime tests
    const links = plan.links.filter((l) => l.part === (part.kind === 'html' ? 'h' : 't'));
    if (part.kind === 'text') {
      expect(unmintText(after, minter)).toBe(before);
      continue;
    }
    // Entities and the line breaks browsers drop inside a wrapped href are not part of what is compared.
    const amp = (s: string): string =>
      s.replace(/&amp;/g, '&').replace(/(href\s*=\s*)(["'])([^"']*)\2/gi, (_m, a: string, q: string, v: string) => a + q + v.replace(/[\t\r\n]/g, '') + q);
    const restored = unmintHtml(after, minter);
    expect(restored.split(PIXEL).length).toBe(plan.pixel ? 2 : 1);
    expect(amp(restored.replace(PIXEL, ''))).toBe(amp(before.replace(MARKERS, '')));
    const counts = countTrackableLinks(before);
    expect(links.length).toBe(counts.elements + counts.inComments);
  }
}

function run(raw: Buffer): void {
  const { headers, body } = splitMessage(raw);
  const minter = new RecordingMinter();
  const plan = planRewrite(headers, body, minter, SETTINGS);
  checkPlan(body, plan, minter);
}

function wrapTemplate(html: string, cte: 'quoted-printable' | 'base64' | '8bit', withText: boolean): Buffer {
  const encoded =
    cte === 'base64'
      ? (Buffer.from(html, 'utf8').toString('base64').match(/.{1,76}/g) ?? []).join('\r\n')
      : cte === 'quoted-printable'
        ? qpEncode(Buffer.from(html, 'utf8'))
        : Buffer.from(html.replace(/\r?\n/g, '\r\n'), 'utf8').toString('latin1');
  const htmlPart = `Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: ${cte}\r\n\r\n${encoded}\r\n`;
  const head = 'From: news@example.com\r\nTo: reader@example.net\r\nSubject: template\r\nMIME-Version: 1.0\r\n';
  if (!withText) return Buffer.from(head + htmlPart, 'latin1');
  const text = 'Plain version: https://example.com/plain?a=1&b=2 (and <https://example.com/angle>).\r\n';
  return Buffer.from(
    head +
      'Content-Type: multipart/alternative; boundary="=_b"\r\n\r\n--=_b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n' +
      text +
      '--=_b\r\n' +
      htmlPart +
      '--=_b--\r\n',
    'latin1',
  );
}

/** A deliberately plain QP encoder for building inputs (not the one under test). */
function qpEncode(data: Buffer): string {
  const lines = data.toString('latin1').split(/\r?\n/);
  return lines
    .map((line) => {
      const escaped = line.replace(/[^\x20-\x3c\x3e-\x7e]|[ \t]$/g, (c) => `=${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
      const out: string[] = [];
      let rest = escaped;
      while (rest.length > 75) {
        let cut = 75;
        const eq = rest.lastIndexOf('=', cut - 1);
        if (eq > cut - 3) cut = eq;
        out.push(rest.slice(0, cut) + '=');
        rest = rest.slice(cut);
      }
      out.push(rest);
      return out.join('\r\n');
    })
    .join('\r\n');
}

describe.skipIf(!present)('the rewriting pipeline over the corpus', () => {
  const messages = present ? readdirSync(`${CORPUS}messages`).filter((f) => f.endsWith('.eml')).sort() : [];
  const templates = present ? readdirSync(`${CORPUS}templates`).filter((f) => f.endsWith('.html')).sort() : [];

  it.each(messages)('message %s', (file) => {
    run(readFileSync(`${CORPUS}messages/${file}`));
  });

  const seed = (html: string): string => {
    let n = 0;
    return html.replace(/href=(["'])(#|http:\/\/)\1/g, (_m, q: string) => `href=${q}https://seed.example/${++n}?a=1&amp;b=2${q}`);
  };
  const wrapped = templates.flatMap((t) =>
    (['quoted-printable', 'base64', '8bit'] as const).map((cte, i) => [t, cte, i % 2 === 0] as [string, typeof cte, boolean]),
  );
  it.each(wrapped)('template %s as %s (with text part: %s)', (file, cte, withText) => {
    const html = seed(readFileSync(`${CORPUS}templates/${file}`, 'utf8'));
    run(wrapTemplate(html, cte, withText));
  });

  it('rewrote links in most of the inputs (the suite is not vacuous)', () => {
    let rewritten = 0;
    for (const [file, cte, withText] of wrapped) {
      const { headers, body } = splitMessage(wrapTemplate(seed(readFileSync(`${CORPUS}templates/${file}`, 'utf8')), cte, withText));
      if (planRewrite(headers, body, new RecordingMinter(), SETTINGS).links.length > 0) rewritten++;
    }
    expect(rewritten).toBeGreaterThan(wrapped.length / 2);
  });
});
