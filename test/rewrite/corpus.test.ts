import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseFragment, type DefaultTreeAdapterTypes as T } from 'parse5';
import { describe, expect, it } from 'vitest';
import { rewriteHtml } from '../../src/rewrite/html.js';
import { openPixelHtml } from '../../src/rewrite/pixel.js';
import { PIXEL_URL, RecordingMinter, TRACKING_HOST, options, unmintHtml } from './recording-minter.js';

const TEMPLATES = fileURLToPath(new URL('../../../shared/corpus/templates/', import.meta.url));
const corpusPresent = existsSync(TEMPLATES);
if (!corpusPresent) console.warn(`corpus test skipped: ${TEMPLATES} does not exist`);

const templates = corpusPresent ? readdirSync(TEMPLATES).filter((name) => name.endsWith('.html')).sort() : [];

// ---- An independent count of trackable links, from parse5's tree builder rather than its tokenizer ----

const LINK_TAGS = new Set(['a', 'area', 'v:roundrect', 'v:rect']);
const OPT_OUT = /^(data-notrack|data-mautic-disable-tracking)$/i;

function isTrackableHref(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (!/^\s*https?:\/\//i.test(value)) return false; // `http:foo` parses, but is not an absolute link
  if (url.hostname === '' || url.hostname.toLowerCase() === TRACKING_HOST) return false;
  let decoded = value;
  try {
    decoded = decodeURI(value);
  } catch {
    // malformed percent-encoding: judge the text as it is
  }
  return !['{{', '{%', '*|', '%%', '[[', '${'].some((mark) => decoded.includes(mark));
}

function isOptedOut(element: T.Element): boolean {
  return element.attrs.some(
    (a) =>
      OPT_OUT.test(a.name) ||
      (a.name === 'data-msys-clicktrack' && a.value.trim() === '0') ||
      (a.name === 'clicktracking' && a.value.trim().toLowerCase() === 'off'),
  );
}

interface Counts {
  elements: number;
  inComments: number;
}

function countTrackable(node: T.ParentNode, counts: Counts, insideComment: boolean): void {
  for (const child of node.childNodes) {
    if (child.nodeName === '#comment') {
      const data = (child as T.CommentNode).data;
      if (!insideComment && /^\[if\b/i.test(data)) countTrackable(parseFragment(data), counts, true);
      continue;
    }
    if (!('tagName' in child)) continue;
    const element = child as T.Element;
    const href = element.attrs.find((a) => a.name === 'href');
    if (LINK_TAGS.has(element.tagName) && href && !isOptedOut(element) && isTrackableHref(href.value)) {
      if (insideComment) counts.inComments++;
      else counts.elements++;
    }
    countTrackable(element, counts, insideComment);
    if (element.tagName === 'template') countTrackable((element as T.Template).content, counts, insideComment);
  }
}

describe.skipIf(!corpusPresent)('rewriteHtml over the template corpus', () => {
  const pixel = openPixelHtml(PIXEL_URL);

  it('has templates to read', () => {
    expect(templates.length).toBeGreaterThan(0);
  });

  // The templates mostly link to `#` or an empty `http://`; seeding those with real URLs exercises many
  // more links, VML buttons included.
  const seeded = (html: string) => {
    let n = 0;
    return html.replace(/href=(["'])(#|http:\/\/)\1/g, (_m, q: string) => `href=${q}https://seed.example/${++n}?a=1&amp;b=${q === '"' ? "'" : '"'}${q}`);
  };
  const cases = templates.flatMap((name) => [
    [name, false],
    [`${name} (seeded)`, true],
  ]) as [string, boolean][];

  it.each(cases)('%s', (label, seed) => {
    const name = label.replace(/ \(seeded\)$/, '');
    const raw = readFileSync(join(TEMPLATES, name), 'utf8');
    const html = seed ? seeded(raw) : raw;
    const minter = new RecordingMinter();
    const outcome = rewriteHtml(html, options(minter, { opens: true }));

    const counts: Counts = { elements: 0, inComments: 0 };
    countTrackable(parse(html), counts, false);
    expect(outcome.links.length).toBe(counts.elements + counts.inComments);

    const restored = unmintHtml(outcome.text, minter);
    expect(restored.split(pixel)).toHaveLength(2);
    expect(restored.replace(pixel, '')).toBe(html);

    const quiet = rewriteHtml(html, options(new RecordingMinter(true)));
    expect(quiet.text).toBe(html);
  });

  it('rewrites links in some of them and VML buttons in conditional comments', () => {
    let links = 0;
    let vml = 0;
    for (const name of templates) {
      const html = seeded(readFileSync(join(TEMPLATES, name), 'utf8'));
      const counts: Counts = { elements: 0, inComments: 0 };
      countTrackable(parse(html), counts, false);
      links += counts.elements;
      vml += counts.inComments;
    }
    console.info(`corpus (seeded): ${templates.length} templates, ${links} trackable links, ${vml} in conditional comments`);
    expect(links).toBeGreaterThan(0);
  });
});
