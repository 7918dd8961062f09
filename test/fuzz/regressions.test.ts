/**
 * Findings of the fuzzer (fuzz/run.ts), each reduced to the smallest input that shows it.
 * The two hangs are sized so that the quadratic behaviour they caught would run for minutes, far past
 * the test timeout, while the fixed code takes milliseconds: a hang fails the test, no clock is read.
 */
import { describe, expect, it } from 'vitest';
import { planRewrite } from '../../src/tracking/plan-rewrite.js';
import { createKeyring, decodeToken, mintStatelessOpen, signingKey } from '../../src/tokens/index.js';
import type { HeaderField } from '../../src/milter/commands.js';
import { splitMessage } from '../../src/mime/message-split.js';
import { encodeQuotedPrintable } from '../../src/mime/transfer.js';
import { RecordingMinter } from '../rewrite/recording-minter.js';
import { MIME_FUZZ_SETTINGS, runPipeline } from '../../fuzz/targets/mime.js';

function rewrittenLinks(headers: HeaderField[], body: Buffer): number {
  return planRewrite(headers, body, new RecordingMinter(), MIME_FUZZ_SETTINGS).links.length;
}

describe('fuzz findings: mime', () => {
  // mime seed 1 case 2608 (swu-goldstar-confirm.html as base64 with 100 KB of tabs inserted): 10 s in
  // planRewrite, all of it in BASE64_TAIL = /[\r\n \t]*$/ (src/mime/part.ts:26), which V8 runs in time
  // quadratic in the length of any whitespace run that is not at the end. The milter runs planRewrite on
  // its event loop, so one such message stalls every session and the redirector; 1 MB of blanks is 100x
  // worse. Fixed: the tail is found with a backwards byte loop instead of the regular expression.
  it('a base64 part with a long run of blanks in the middle is rewritten, not hung on', () => {
    const headers = [
      { name: 'Content-Type', value: 'text/html; charset=utf-8' },
      { name: 'Content-Transfer-Encoding', value: 'base64' },
    ];
    const html = Buffer.from('<a href="https://example.com/">x</a>').toString('base64');
    const body = Buffer.from(`${html}\r\n${'\t'.repeat(400_000)}\r\n${html}\r\n`, 'latin1');
    expect(rewrittenLinks(headers, body)).toBe(2);
  });

  // The same pattern for UTF-16/32 parts: LINE_BREAKS_TAIL = /(?:\r?\n)*$/ (src/mime/part.ts:27).
  it('a UTF-16 part with a long run of line breaks in the middle is rewritten, not hung on', () => {
    const headers = [
      { name: 'Content-Type', value: 'text/html; charset=utf-16le' },
      { name: 'Content-Transfer-Encoding', value: 'binary' },
    ];
    const body = Buffer.concat([Buffer.from('<a href="https://example.com/">x</a>', 'utf16le'), Buffer.from('\r\n'.repeat(200_000) + 'ab', 'latin1')]);
    expect(rewrittenLinks(headers, body)).toBe(1);
  });

  // mime seed 590890523 cases 5558, 6740 and 14135 (base64 parts of messages cut short, or with blanks
  // before the final line break): the part's tail, kept after our new base64 so that the part ends as
  // before, was every blank and line break after the data. Blanks there ended our last base64 line
  // ("...Q== ", not a base64 line), and 64 KB of tabs made it a line of 65,480 octets, over SMTP's 998.
  // Fixed: the tail is the final line breaks only (src/mime/part.ts, contentTail).
  it.each([
    ['cut short after a blank', ' '],
    ['a blank before the final line break', ' \r\n'],
    ['blanks and a blank line before the final line breaks', '\t \r\n \r\n\r\n'],
    ['cut short in 64 KB of tabs', '\t'.repeat(65_480)],
  ])('a base64 part ending in blanks (%s) is rewritten into valid base64 lines, keeping only its line breaks', (_name, ending) => {
    const html = Buffer.from('<p>Hello</p><a href="https://example.com/">x</a>'.repeat(3)).toString('base64').replace(/.{76}/g, '$&\r\n');
    const raw = Buffer.from(`Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${html}${ending}`, 'latin1');
    expect(runPipeline(raw).problems).toEqual([]);
    const { headers, body } = splitMessage(raw);
    const plan = planRewrite(headers, body, new RecordingMinter(), MIME_FUZZ_SETTINGS);
    expect(plan.links).toHaveLength(3);
    const lines = plan.body!.toString('latin1').split('\r\n');
    const keptBreaks = /(?:\r\n)*$/.exec(ending)![0].length / 2; // the final run of line breaks, no blank line before it
    expect(lines.slice(lines.length - keptBreaks)).toEqual(Array(keptBreaks).fill(''));
    for (const line of lines.slice(0, lines.length - keptBreaks)) expect(line).toMatch(/^[A-Za-z0-9+/]{1,76}={0,2}$/);
  });

  // mime seed 992727743 case 24691 (a UTF-16 part in quoted-printable whose last line ends in a soft
  // break, `=` CRLF): the CRLF was kept as the part's tail, line structure after the data, and so
  // followed our last line as a hard break: the rewritten HTML gained a CRLF of data, read as U+0D0A.
  // Fixed: a line break that ends a soft break is not tail (src/mime/part.ts, contentTail).
  it.each(['=\r\n', '=\r\n\r\n'])('a UTF-16 quoted-printable part ending in a soft break (%j) gains nothing at its end', (ending) => {
    const html = Buffer.from('<p>Hello</p><a href="https://example.com/">x</a>', 'utf16le');
    const qp = encodeQuotedPrintable(html, '\r\n', false);
    const headers = 'Content-Type: text/html; charset=utf-16le\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n';
    const raw = Buffer.concat([Buffer.from(headers, 'latin1'), qp, Buffer.from(ending, 'latin1')]);
    const run = runPipeline(raw);
    expect(run.problems).toEqual([]);
    expect(run.links).toBe(1);
  });

  // mime seed 590890523 case 22647 (a bit flip turned `&amp;` into `&amp{` in a link) and seed 1580136533
  // case 26079 (`&nbsp;` inside an href): false alarms of the check, not of the product. parse5 reads
  // `&amp{` in an attribute as `&{` (the legacy reference rule) and `&nbsp;` as U+00A0, the link was
  // rewritten from that URL, and the check, which only knew `&amp;` and `&quot;`, saw the text beyond
  // the link change. The check now decodes href values with parse5.
  it.each(['https://example.com/?a=1&amp{b=2&amp=3&ampx', 'https://example.com/?&nbsp;&nbsp;&eacute&#x41;'])(
    'a link whose href holds character references the check must decode as parse5 does (%s) passes it',
    (href) => {
      const raw = Buffer.from(`Content-Type: text/html\r\n\r\n<a href="${href}">x</a>\r\n`, 'latin1');
      expect(runPipeline(raw).problems).toEqual([]);
      expect(runPipeline(raw).links).toBe(1);
    },
  );

  it('the pipeline check itself passes on a small valid message', () => {
    const raw = Buffer.from('Content-Type: text/html\r\n\r\n<a href="https://example.com/">x</a>\r\n', 'latin1');
    expect(runPipeline(raw).problems).toEqual([]);
  });
});

describe('fuzz findings: tokens', () => {
  // tokens seed 7 case 84089: a stateless token whose SendID starts with U+FEFF decoded without it. The
  // reader's STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true }) (src/tokens/binary.ts:11) strips a
  // leading byte order mark from every string it decodes (TextDecoder's default), so recipient, SendID,
  // ListID, email_code and the URL of stateless links and X-Mailer-Info-Extra do not round-trip when
  // they start with one. Fix: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).
  it('a field starting with U+FEFF decodes to exactly what was minted', () => {
    const keyring = createKeyring([signingKey(1, Buffer.alloc(32, 7))], 1);
    const fields = { recipient: 'r@example.net', sendId: '\ufeffa1', listId: 'l', emailCode: 'e' };
    const decoded = decodeToken(keyring, mintStatelessOpen(keyring, fields));
    expect(decoded.ok && decoded.kind === 'stateless-open' ? decoded.sendId : null).toBe('\ufeffa1');
  });
});
