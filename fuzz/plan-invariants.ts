/**
 * The rewriting invariants of test/tracking/pipeline-check.ts, restated for inputs that may be invalid:
 * plain Error messages instead of vitest assertions, and regular expressions that stay linear on
 * 100 KB lines. What changes for hostile input:
 * - a part's original text is what the product's own decoder makes of it (a broken QP escape or a stray
 *   `=` in base64 has no other meaning to compare with); the output, which the product encoded, must
 *   decode the same under an independent decoder and under the product's;
 * - `binary` parts have no line-length limit (RFC 2045), so the 998-octet rule is not applied to them;
 * - an html part is compared with its original token by token (html-change.ts), not as text.
 */
import iconv from 'iconv-lite';
import type { RewritePlan } from '../src/tracking/plan-rewrite.js';
import { lookupCharset } from '../src/mime/charset.js';
import type { ByteRange, PartReport } from '../src/mime/index.js';
import { decodeTransfer as productDecodeTransfer } from '../src/mime/transfer.js';
import { openPixelHtml } from '../src/rewrite/pixel.js';
import { expectUntouchedOutsideEdits } from '../test/mime/helpers.js';
import { PIXEL_URL, type RecordingMinter, unmintHtml, unmintText } from '../test/rewrite/recording-minter.js';
import { countTrackableLinks } from '../test/rewrite/trackable-count.js';
import { htmlChange } from './html-change.js';

const PIXEL = openPixelHtml(PIXEL_URL);

function independentTransferDecode(cte: string, raw: Buffer): Buffer {
  if (cte === 'base64') return Buffer.from(raw.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
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

function productDecode(body: Buffer, range: ByteRange, cte: string, charset: string): string | null {
  const data = productDecodeTransfer(cte, body.subarray(range.start, range.end));
  return lookupCharset(charset, data)?.decode(data) ?? null;
}

/** Problems with the output encoding of one rewritten part. */
function encodingProblems(content: Buffer, cte: string): string[] {
  const problems: string[] = [];
  const lines = content.toString('latin1').split(/\r?\n/);
  lines.forEach((line, i) => {
    if (cte !== 'binary' && line.length > 998) problems.push(`line ${i} of a ${cte} part is ${line.length} octets (over 998)`);
    if (cte === 'quoted-printable' && (line.length > 76 || !/^(?:[\x21-\x3c\x3e-\x7e \t]|=[0-9A-F]{2})*=?$/.test(line))) {
      problems.push(`invalid quoted-printable line ${i}: ${JSON.stringify(line.slice(0, 100))}`);
    }
    // Bare CRs and blank lines at the end are the part's original tail (whitespace after the data), kept as it was.
    if (cte === 'base64' && !/^[A-Za-z0-9+/]{0,76}={0,2}\r*$/.test(line) && !/^[\r \t]*$/.test(line))
      problems.push(`invalid base64 line ${i}: ${JSON.stringify(line.slice(0, 100))}`);
    if (cte === '7bit' && /[\x80-\xff]/.test(line)) problems.push(`8-bit octets in line ${i} of a 7bit part`);
  });
  return problems.slice(0, 3);
}

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `at ${i}: ${JSON.stringify(a.slice(Math.max(0, i - 40), i + 60))} became ${JSON.stringify(b.slice(Math.max(0, i - 40), i + 60))}`;
}

export interface PlanCheck {
  problems: string[];
  /**
   * The rewriter (parse5's tokenizer) and an independent parse5 tree walk disagree on how many trackable
   * links an html part has. On valid HTML that is a bug; on mutated HTML the two readings of broken markup
   * legitimately differ (nested anchors, raw-text elements opened by a flipped byte), so it is counted
   * and reported, not failed.
   */
  linkCountDisagreement?: string;
}

/** Everything wrong with a plan; no problems when it keeps every invariant. */
export function checkPlanInvariants(body: Buffer, plan: RewritePlan, minter: RecordingMinter): PlanCheck {
  const problems = planProblems(body, plan, minter);
  const disagreement = problems.find((p) => p.includes('independent parse5 walk'));
  return { problems: problems.filter((p) => p !== disagreement), ...(disagreement ? { linkCountDisagreement: disagreement } : {}) };
}

function planProblems(body: Buffer, plan: RewritePlan, minter: RecordingMinter): string[] {
  if (!plan.body) return plan.links.length === 0 ? [] : [`no new body, yet ${plan.links.length} links reported`];
  const problems: string[] = [];
  try {
    expectUntouchedOutsideEdits(body, { body: plan.body, headerChanges: [], parts: plan.parts });
  } catch (err) {
    problems.push(`bytes outside the rewritten parts changed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const changed = plan.parts.filter((p): p is PartReport & { output: ByteRange } => p.changed && !!p.output);
  for (const part of changed) {
    const cte = part.newCte ?? part.cte;
    const output = plan.body.subarray(part.output.start, part.output.end);
    problems.push(...encodingProblems(output, cte).map((p) => `${part.kind} part: ${p}`));
    const before = productDecode(body, part, part.cte, part.charset);
    const after = productDecode(plan.body, part.output, cte, part.charset);
    if (before === null || after === null) continue;
    const independent = independentTransferDecode(cte, output);
    const charsetName = part.charset === 'us-ascii' ? 'latin1' : part.charset;
    if (iconv.encodingExists(charsetName) && !/^utf-?(16|32)/i.test(charsetName)) {
      const independentText = iconv.decode(independent, charsetName, { stripBOM: false });
      const productText = iconv.decode(productDecodeTransfer(cte, output), charsetName, { stripBOM: false });
      if (independentText !== productText) problems.push(`${part.kind} part: the output ${cte} decodes differently under an independent decoder`);
    }
    if (part.kind === 'text') {
      const restored = unmintText(after, minter);
      if (restored !== before) problems.push(`text part changed beyond its links ${firstDifference(before, restored)}`);
      continue;
    }
    const restored = unmintHtml(after, minter);
    const pixels = restored.split(PIXEL).length - 1;
    if (pixels !== (plan.pixel ? 1 : 0)) problems.push(`html part holds ${pixels} pixels, plan says ${plan.pixel ? 1 : 0}`);
    const change = htmlChange(before, restored, plan.pixel ? PIXEL : null);
    if (change !== null) problems.push(`html part changed beyond its links ${change}`);
    const links = plan.links.filter((l) => l.part === 'h').length;
    const counts = countTrackableLinks(before);
    if (links !== counts.elements + counts.inComments) {
      problems.push(`${links} html links rewritten, an independent parse5 walk finds ${counts.elements + counts.inComments} trackable`);
    }
  }
  return problems;
}
