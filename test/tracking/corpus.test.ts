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
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planRewrite, type RewriteSettings } from '../../src/tracking/plan-rewrite.js';
import { splitMessage } from '../../src/mime/message-split.js';
import { RecordingMinter } from '../rewrite/recording-minter.js';
import { checkPlan } from './pipeline-check.js';
import { plainQuotedPrintable } from '../helpers/plain-qp.js';
import { sharedPath } from '../helpers/shared-dir.js';

const corpus = sharedPath('corpus');
const CORPUS = `${corpus.path}/`;
const present = corpus.present;
if (!present) console.log(`test/tracking/corpus.test.ts skipped: the shared corpus is not used (${corpus.absence})`);

const SETTINGS: RewriteSettings = {
  clicks: true,
  opens: true,
  maxLinks: 10_000,
  skipDkimSigned: false,
  limits: { maxDepth: 20, maxParts: 500, maxPartBytes: 10 * 1024 * 1024 },
};

function run(raw: Buffer): void {
  const { headers, body } = splitMessage(raw);
  const minter = new RecordingMinter();
  const plan = planRewrite(headers, body, minter, SETTINGS);
  checkPlan(body, plan, minter);
}

function wrapTemplate(html: string, cte: 'quoted-printable' | 'base64' | '8bit', withText: boolean): Buffer {
  const encoded =
    cte === 'base64'
      ? (
          Buffer.from(html, 'utf8')
            .toString('base64')
            .match(/.{1,76}/g) ?? []
        ).join('\r\n')
      : cte === 'quoted-printable'
        ? plainQuotedPrintable(Buffer.from(html, 'utf8'))
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

describe.skipIf(!present)('the rewriting pipeline over the corpus', () => {
  const messages = present
    ? readdirSync(`${CORPUS}messages`)
        .filter((f) => f.endsWith('.eml'))
        .sort()
    : [];
  const templates = present
    ? readdirSync(`${CORPUS}templates`)
        .filter((f) => f.endsWith('.html'))
        .sort()
    : [];

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
