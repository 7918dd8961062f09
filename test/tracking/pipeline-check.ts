// Checks of what the whole rewriting pipeline did to one message, shared by the corpus and property
// tests: (2) bytes outside the rewritten parts identical, (3) an independent decode of each rewritten
// part, with the originals put back from the minter's own map, gives the original decoded part (pixel
// and removed opt-out markers aside), (4) line lengths and valid encodings, (5) as many links as an
// independent parse5 tree walk finds.
import iconv from 'iconv-lite';
import { expect } from 'vitest';
import type { RewritePlan } from '../../src/tracking/plan-rewrite.js';
import type { PartReport } from '../../src/mime/index.js';
import { openPixelHtml } from '../../src/rewrite/pixel.js';
import { expectUntouchedOutsideEdits } from '../mime/helpers.js';
import { PIXEL_URL, type RecordingMinter, unmintHtml, unmintText } from '../rewrite/recording-minter.js';
import { countTrackableLinks } from '../rewrite/trackable-count.js';

const MARKERS =
  /\s+(?:data-msys-clicktrack\s*=\s*(["']?)0\1|data-notrack(?:\s*=\s*(["'])[^"']*\2)?|clicktracking\s*=\s*(["']?)off\3|data-mautic-disable-tracking(?:\s*=\s*(["'])[^"']*\4)?|data-msys-linkname\s*=\s*(["'])[^"']*\5)/gi;
const PIXEL = openPixelHtml(PIXEL_URL);

// --- an independent decoder: transfer encodings by hand, charsets by iconv-lite ---

function decodeTransfer(cte: string, raw: Buffer): Buffer {
  if (cte === 'base64') return Buffer.from(raw.toString('latin1').replace(/[^A-Za-z0-9+/]/g, ''), 'base64');
  if (cte !== 'quoted-printable') return raw;
  const text = raw
    .toString('latin1')
    .replace(/[ \t]+(?=\r?\n)/g, '')
    .replace(/=\r?\n/g, '');
  return Buffer.from(
    text.replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    'latin1',
  );
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
export function checkPlan(body: Buffer, plan: RewritePlan, minter: RecordingMinter): void {
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
    // GreenArrow's first placement: the pixel takes the place of the first <opentag>.
    const withoutOpentag = plan.pixel ? before.replace(/<opentag\s*\/?>/i, '') : before;
    expect(amp(restored.replace(PIXEL, ''))).toBe(amp(withoutOpentag.replace(MARKERS, '')));
    const counts = countTrackableLinks(before);
    expect(links.length).toBe(counts.elements + counts.inComments);
  }
}
