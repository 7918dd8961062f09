import { describe, expect, it } from 'vitest';
import { planRewrite, type RewriteSettings } from '../../src/tracking/plan-rewrite.js';
import { createMessageMinter } from '../../src/tracking/message-minter.js';
import { createKeyring, decodeToken, signingKey } from '../../src/tokens/index.js';
import { splitMessage } from '../../src/mime/message-split.js';

const keyring = createKeyring([signingKey(1, Buffer.alloc(32, 7))], 1);
const identity = {
  sendId: 'a1',
  listId: 'l',
  emailCode: 'c',
  mailClass: 'a',
  recipient: 'b@example.net',
  recipients: ['b@example.net'],
  campaignId: '',
  metadata: null,
};
// Stateless links carry their URL, so the test can decode where each one leads without a store.
const minter = createMessageMinter({
  keyring,
  identity,
  settings: {
    clicks: true,
    opens: true,
    domain: 't.example.org',
    scheme: 'https',
    style: 'compact',
    mode: 'stateless',
    unsubscribe: 'missing',
    unsubscribe_page: '',
    honeypot: false,
  },
  origin: { scheme: 'https', domain: 't.example.org' },
  messageId: Buffer.alloc(9, 1),
  trackingHosts: new Set(['t.example.org']),
});
const settings: RewriteSettings = {
  clicks: true,
  opens: true,
  maxLinks: 100,
  skipDkimSigned: true,
  limits: { maxDepth: 10, maxParts: 50, maxPartBytes: 1 << 20 },
};

function message(head: string, body: string): ReturnType<typeof splitMessage> {
  return splitMessage(Buffer.from(`${head}\r\n\r\n${body}`.replace(/\r?\n/g, '\r\n'), 'latin1'));
}

const ALTERNATIVE = message(
  ['From: a@example.com', 'To: b@example.net', 'MIME-Version: 1.0', 'Content-Type: multipart/alternative; boundary="b1"'].join('\n'),
  [
    '--b1',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'Read https://example.com/a?x=1 now.',
    '--b1',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    '<html><body><p><a href=3D"https://example.com/b?y=3D2&amp;z=3D3">B</a></p></body></html>',
    '--b1--',
    '',
  ].join('\n'),
);

/** Every minted URL in a text, decoded with the key: an independent check of what each link leads to. */
function mintedTargets(text: string): Array<{ kind: string; url?: string; part?: string }> {
  return [...text.matchAll(/https:\/\/t\.example\.org\/([co])\/([A-Za-z0-9_~]+)/g)].map((m) => {
    const token = decodeToken(keyring, m[2]!);
    if (!token.ok) throw new Error(`minted token does not verify: ${m[0]}`);
    if (token.kind === 'stateless-click') return { kind: 'click', url: token.url, part: token.part };
    if (token.kind === 'stateless-open') return { kind: 'open' };
    throw new Error(`unexpected token kind ${token.kind}`);
  });
}

describe('planRewrite', () => {
  it('rewrites the top text and html parts and inserts the pixel, leaving the rest of the body as it was', () => {
    const plan = planRewrite(ALTERNATIVE.headers, ALTERNATIVE.body, minter, settings);
    expect(plan.skipped).toBeUndefined();
    const out = plan.body!.toString('latin1');
    const decodedHtml = out.replace(/=\r\n/g, '').replace(/=3D/g, '=');
    expect(mintedTargets(out.split('--b1')[1]!)).toEqual([{ kind: 'click', url: 'https://example.com/a?x=1', part: 't' }]);
    expect(mintedTargets(decodedHtml.split('--b1')[2]!)).toEqual([{ kind: 'click', url: 'https://example.com/b?y=2&z=3', part: 'h' }, { kind: 'open' }]);
    expect(plan.links.map((l) => [l.part, l.position, l.url])).toEqual([
      ['t', 1, 'https://example.com/a?x=1'],
      ['h', 1, 'https://example.com/b?y=2&z=3'],
    ]);
    expect(plan.pixel).toBe(true);
    // The MIME skeleton (boundaries, part headers) is untouched.
    const skeleton = (s: string): string[] => s.split('\r\n').filter((l) => l.startsWith('--') || l.startsWith('Content-'));
    expect(skeleton(out)).toEqual(skeleton(ALTERNATIVE.body.toString('latin1')));
  });

  it('passes a DKIM-signed message unchanged, and rewrites it when told not to care', () => {
    const signed = { ...ALTERNATIVE, headers: [{ name: 'DKIM-Signature', value: 'v=1; a=rsa-sha256; d=example.com' }, ...ALTERNATIVE.headers] };
    const plan = planRewrite(signed.headers, signed.body, minter, settings);
    expect(plan.body).toBeNull();
    expect(plan.skipped?.code).toBe('dkim-signed');
    expect(planRewrite(signed.headers, signed.body, minter, { ...settings, skipDkimSigned: false }).body).not.toBeNull();
  });

  it('a part with more links than allowed: the first maxLinks are tracked, the rest left, the limit reported', () => {
    const links = Array.from({ length: 5 }, (_, i) => `https://example.com/${i}`).join('\n');
    const m = message('Content-Type: text/plain', links);
    const plan = planRewrite(m.headers, m.body, minter, { ...settings, maxLinks: 4 });
    expect(plan.skipped).toBeUndefined();
    expect(plan.links.map((l) => l.url)).toEqual([0, 1, 2, 3].map((i) => `https://example.com/${i}`));
    expect(plan.body!.toString()).toMatch(/\nhttps:\/\/example\.com\/4\r?\n?$/);
    expect(plan.limitsHit).toEqual([{ reason: 'max-links', part: 'text', maxLinks: 4, found: 5 }]);
    const within = planRewrite(m.headers, m.body, minter, { ...settings, maxLinks: 5 });
    expect(within.links).toHaveLength(5);
    expect(within.limitsHit).toEqual([]);
  });

  it('does nothing when clicks and opens are both off', () => {
    const plan = planRewrite(ALTERNATIVE.headers, ALTERNATIVE.body, minter, { ...settings, clicks: false, opens: false });
    expect(plan.body).toBeNull();
    expect(plan.skipped?.code).toBe('tracking-off');
  });

  it('with clicks off only inserts the pixel', () => {
    const plan = planRewrite(ALTERNATIVE.headers, ALTERNATIVE.body, minter, { ...settings, clicks: false });
    expect(plan.links).toEqual([]);
    expect(mintedTargets(plan.body!.toString('latin1').replace(/=\r\n/g, ''))).toEqual([{ kind: 'open' }]);
  });

  it('a message with nothing to track and no html keeps its body (null) without a skip reason', () => {
    const m = message('Content-Type: text/plain', 'Just words.\n');
    const plan = planRewrite(m.headers, m.body, minter, settings);
    expect(plan.body).toBeNull();
    expect(plan.skipped).toBeUndefined();
  });

  it("changes the root part's transfer encoding header when a 7bit body can no longer stay 7bit", () => {
    // A 7bit root line of 983 characters that grows past 998 octets when its URL is replaced.
    const long = 'x'.repeat(960) + ' https://example.com/p';
    const m = message('Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit', long + '\n');
    const plan = planRewrite(m.headers, m.body, minter, settings);
    expect(plan.headerChanges).toEqual([{ op: 'change', index: 1, name: 'Content-Transfer-Encoding', value: 'quoted-printable' }]);
    expect(
      plan
        .body!.toString('latin1')
        .split('\r\n')
        .every((l) => l.length <= 76),
    ).toBe(true);
  });
});
