/**
 * Every absolute http(s) link the HTML rewriter finds in the shared corpus templates, minted by the real
 * token functions in both modes and both styles, and read back as the redirector would.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rewriteHtml } from '../../src/rewrite/html.js';
import type { LinkFound, LinkMinter } from '../../src/rewrite/types.js';
import { decodeToken, mintStatefulClick, mintStatelessClick } from '../../src/tokens/tokens.js';
import { clickDestination, joinQuery, splitQuery, urlRowId, type UrlRowContent } from '../../src/tokens/url-row.js';
import { clickLink, type LinkStyle, type TrackingOrigin } from '../../src/tokens/url-style.js';
import { parseLinkPath } from './link-path.js';
import { testKeyring } from './fixtures.js';
import { sharedPath } from '../helpers/shared-dir.js';

const corpus = sharedPath('corpus', 'templates');
const TEMPLATES = corpus.path;
const ORIGIN: TrackingOrigin = { scheme: 'https', domain: 'click.example.com' };
const keyring = testKeyring();
const identity = { recipient: 'jane.doe@example.org', sendId: 'a100525', listId: '42', emailCode: 'ec-77' };
const messageId = Buffer.from('0123456789ab', 'hex');

type Mode = 'stateless' | 'stateful';

/** A stand-in for the minter the lead composes: links as the real functions make them, rows kept in a map. */
function minterFor(mode: Mode, style: LinkStyle, rows: Map<string, UrlRowContent>): LinkMinter {
  return {
    click(link: LinkFound): string {
      if (mode === 'stateless') return clickLink(ORIGIN, style, mintStatelessClick(keyring, { ...identity, ...link }), { url: link.url });
      const { rowUrl, query } = splitQuery(link.url);
      const row = { sendId: identity.sendId, listId: identity.listId, url: rowUrl, linkName: link.linkName ?? '' };
      const rowId = urlRowId(keyring.current, row);
      rows.set(rowId.toString('hex'), row);
      return clickLink(ORIGIN, style, mintStatefulClick(keyring, { rowId, messageId, position: link.position, part: link.part }), { url: rowUrl, query });
    },
    open: () => 'https://click.example.com/o/x',
    isTrackingUrl: (url) => url.host === 'click.example.com',
  };
}

/** The redirector's view: request target (no fragment) -> token -> the URL it leads back to. */
function readBack(newUrl: string, rows: Map<string, UrlRowContent>): { url: string; position: number; part: string; fragment: string } {
  const rest = newUrl.slice(`${ORIGIN.scheme}://${ORIGIN.domain}`.length);
  const [target, ...fragmentParts] = rest.split('#');
  const fragment = fragmentParts.length ? '#' + fragmentParts.join('#') : '';
  const parsed = parseLinkPath(target as string);
  if (!parsed) throw new Error(`not a tracking link: ${newUrl}`);
  const decoded = decodeToken(keyring, parsed.token);
  if (!decoded.ok) throw new Error(`rejected (${decoded.code}): ${newUrl}`);
  if (decoded.kind === 'stateless-click') {
    expect(decoded).toMatchObject(identity);
    return { url: decoded.url, position: decoded.position, part: decoded.part, fragment: '' };
  }
  if (decoded.kind !== 'stateful-click') throw new Error(`unexpected ${decoded.kind}`);
  expect(decoded.messageId).toEqual(messageId);
  const row = rows.get(decoded.rowId.toString('hex'));
  if (!row) throw new Error('no such row');
  const destination = clickDestination(row.url, parsed.query);
  if (destination !== null && !row.url.includes('#')) expect(destination).toBe(new URL(joinQuery(row.url, parsed.query)).href);
  return { url: joinQuery(row.url, parsed.query), position: decoded.position, part: decoded.part, fragment };
}

const templates = corpus.present ? readdirSync(TEMPLATES).filter((name) => name.endsWith('.html')) : [];
if (templates.length === 0) console.log(`corpus round trip SKIPPED: no templates (${corpus.absence || `none in ${TEMPLATES}`})`);

describe.skipIf(templates.length === 0)('corpus round trip', () => {
  for (const mode of ['stateless', 'stateful'] as const) {
    for (const style of ['compact', 'path'] as const) {
      it(`${mode}, ${style} style: every link of every template comes back exactly`, () => {
        let total = 0;
        for (const name of templates) {
          const rows = new Map<string, UrlRowContent>();
          const html = readFileSync(join(TEMPLATES, name), 'utf8');
          const outcome = rewriteHtml(html, { minter: minterFor(mode, style, rows), clicks: true, opens: false, maxLinks: 10_000 });
          for (const link of outcome.links) {
            const back = readBack(link.newUrl, rows);
            expect(back.url + back.fragment, `${name} #${link.position}`).toBe(link.url);
            expect([back.position, back.part]).toEqual([link.position, link.part]);
          }
          total += outcome.links.length;
        }
        expect(total).toBeGreaterThan(0);
        if (mode === 'stateless' && style === 'compact') console.log(`corpus: ${total} links in ${templates.length} templates`);
      });
    }
  }

  it('every absolute http(s) href attribute, tracked or not by the rewriter, both modes and styles', () => {
    const hrefs = templates.flatMap((name) => allHrefs(readFileSync(join(TEMPLATES, name), 'utf8')));
    expect(hrefs.length).toBeGreaterThan(0);
    console.log(`corpus: ${hrefs.length} absolute http(s) href attributes (${new Set(hrefs).size} distinct)`);
    hrefs.forEach((url, index) => {
      for (const mode of ['stateless', 'stateful'] as const) {
        for (const style of ['compact', 'path'] as const) {
          const rows = new Map<string, UrlRowContent>();
          const link = { url, position: index + 1, part: 'h' as const };
          const back = readBack(minterFor(mode, style, rows).click(link) as string, rows);
          expect(back.url + back.fragment, `${mode} ${style} ${url}`).toBe(url);
          expect([back.position, back.part]).toEqual([link.position, link.part]);
        }
      }
    });
  });
});

const HREF = /\shref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/gi;
const ENTITY = /&(?:#x([0-9a-f]+)|#([0-9]+)|(amp|quot|apos|lt|gt));?/gi;
const NAMED: Record<string, string> = { amp: '&', quot: '"', apos: "'", lt: '<', gt: '>' };

/** Every href attribute value that is an absolute http(s) URL, entity-decoded (a rough scan, on purpose independent of the rewriter). */
function allHrefs(html: string): string[] {
  const out: string[] = [];
  for (const match of html.matchAll(HREF)) {
    const raw = match[1] ?? match[2] ?? match[3] ?? '';
    const value = raw
      .replace(ENTITY, (_, hex: string | undefined, dec: string | undefined, name: string | undefined) =>
        hex ? String.fromCodePoint(parseInt(hex, 16)) : dec ? String.fromCodePoint(Number(dec)) : (NAMED[(name as string).toLowerCase()] as string),
      )
      .trim();
    if (/^https?:\/\//i.test(value)) out.push(value);
  }
  return out;
}
