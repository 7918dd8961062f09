/**
 * Two mail classes through a real Postfix: class `s` stateful, compact links over https on one
 * tracking domain; class `p` stateless, path-preserving links over http on another. The delivered
 * messages carry the right domains and styles, X-Mailer-Info-Extra decodes to the recipient and
 * SendID, the control headers are gone, and the newsletter of ../shared/bench (when present) has every
 * trackable link rewritten.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeInfoHeader, decodeToken, loadKeyring, type Keyring } from '../../src/tokens/index.js';
import { TrackmilterDaemon } from '../helpers/daemon.js';
import { PostfixLab, postfixLabUnavailableReason, type DeliveredMessage } from '../helpers/postfix-lab.js';
import { sharedPath } from '../helpers/shared-dir.js';
import { sendMessages } from '../helpers/smtp.js';

const unavailable = postfixLabUnavailableReason();
if (unavailable) console.log(`test/e2e/classes.test.ts: skipped: ${unavailable}`);
const NEWSLETTER = sharedPath('bench', 'make-newsletter.py');
const NEWSLETTER_SCRIPT = NEWSLETTER.path;
if (!NEWSLETTER.present) console.log(`the bench newsletter test is skipped: ${NEWSLETTER.absence}`);

const CONFIG = [
  '[classes.s]',
  'mode = "stateful"',
  'style = "compact"',
  'scheme = "https"',
  'domain = "click.one.example"',
  '[classes.p]',
  'mode = "stateless"',
  'style = "path"',
  'scheme = "http"',
  'domain = "click.two.example"',
].join('\n');

function message(mailClass: string, to: string): string {
  return [
    'From: news@sender.example',
    `To: ${to}`,
    `Subject: class ${mailClass}`,
    `X-GreenArrow-MailClass: ${mailClass}`,
    'X-GreenArrow-InstanceID: 42',
    'X-GreenArrow-ListID: weekly',
    'X-GreenArrow-Click-Tracking-ID: code-7',
    'MIME-Version: 1.0',
    'Content-Type: text/html; charset=us-ascii',
    '',
    '<html><body><a href="https://shop.example/products/shoes?ref=news">Shoes</a></body></html>',
    '',
  ].join('\r\n');
}

/** The hrefs of a body, quoted-printable decoded first when it is (as the newsletter's parts are). */
function hrefs(body: Buffer, quotedPrintable = false): string[] {
  let text = body.toString('latin1');
  if (quotedPrintable) text = text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  return [...text.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
}

describe.skipIf(unavailable !== undefined)('two mail classes through Postfix', () => {
  let daemon: TrackmilterDaemon;
  let lab: PostfixLab;
  let keyring: Keyring;
  let delivered: DeliveredMessage[];

  beforeAll(async () => {
    daemon = await TrackmilterDaemon.start({ configToml: CONFIG });
    keyring = await loadKeyring(daemon.dataDir);
    lab = await PostfixLab.start({ milter: daemon.postfixSpec, defaultAction: 'tempfail' });
    const outcomes = await sendMessages(
      lab.smtpPort,
      [
        { envelope: { from: 'news@sender.example', to: ['one@example.net'] }, data: message('s', 'one@example.net') },
        { envelope: { from: 'news@sender.example', to: ['two@example.net'] }, data: message('p', 'two@example.net') },
      ],
      { concurrency: 1 },
    );
    expect(outcomes.every((o) => o.accepted)).toBe(true);
    delivered = await lab.waitForDeliveredMessages(2);
  });

  afterAll(async () => {
    await lab?.stop();
    await daemon?.dispose();
  });

  const byClass = (c: string): DeliveredMessage => delivered.find((m) => m.header('Subject')[0] === `class ${c}`)!;

  it('class s: stateful compact https links on its domain', () => {
    const [link] = hrefs(byClass('s').body);
    expect(link).toMatch(/^https:\/\/click\.one\.example\/c\/[A-Za-z0-9_~]+\?ref=news$/);
    const token = decodeToken(keyring, /\/c\/([^?]+)/.exec(link!)![1]!);
    expect(token).toMatchObject({ ok: true, kind: 'stateful-click', position: 1, part: 'h' });
  });

  it('class p: stateless path-preserving http links on its domain, carrying recipient and URL', () => {
    const [link] = hrefs(byClass('p').body);
    expect(link).toMatch(/^http:\/\/click\.two\.example\/products\/shoes-[A-Za-z0-9_~]+$/);
    const token = decodeToken(keyring, link!.slice(link!.lastIndexOf('-') + 1));
    expect(token).toMatchObject({
      ok: true,
      kind: 'stateless-click',
      url: 'https://shop.example/products/shoes?ref=news',
      recipient: 'two@example.net',
      sendId: 'p42',
    });
  });

  it('X-Mailer-Info-Extra names recipient and send; the control headers are gone', () => {
    for (const [c, rcpt] of [
      ['s', 'one@example.net'],
      ['p', 'two@example.net'],
    ] as const) {
      const m = byClass(c);
      const [info] = m.header('X-Mailer-Info-Extra');
      expect(decodeInfoHeader(keyring, info!)).toMatchObject({ ok: true, recipient: rcpt, sendId: `${c}42`, listId: 'weekly', emailCode: 'code-7' });
      expect(m.headerBlock).not.toMatch(/^X-GreenArrow-/im);
    }
  });

  it.skipIf(!NEWSLETTER.present)('the bench newsletter: every trackable link rewritten onto the class domain', async () => {
    const newsletter = execFileSync('python3', [NEWSLETTER_SCRIPT, '12'])
      .toString()
      .replace(/^X-GreenArrow-MailClass: .*$/m, 'X-GreenArrow-MailClass: s');
    await lab.clearDeliveredMessages();
    const [outcome] = await sendMessages(lab.smtpPort, [{ envelope: { from: 'news@sender.example', to: ['reader@example.net'] }, data: newsletter }], {
      concurrency: 1,
    });
    expect(outcome?.accepted).toBe(true);
    const [m] = await lab.waitForDeliveredMessages(1);
    const links = hrefs(m!.body, true);
    const originals = hrefs(Buffer.from(newsletter), true);
    expect(originals.length).toBeGreaterThan(12);
    expect(links.length).toBe(originals.length);
    originals.forEach((original, i) => {
      if (/^https?:\/\//i.test(original)) expect(links[i]).toMatch(/^https:\/\/click\.one\.example\/c\//);
      else expect(links[i]).toBe(original);
    });
    expect(links.filter((l) => l.startsWith('https://click.one.example/c/')).length).toBeGreaterThan(12);
  });
});
