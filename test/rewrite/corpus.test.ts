import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rewriteHtml } from '../../src/rewrite/html.js';
import { openPixelHtml } from '../../src/rewrite/pixel.js';
import { PIXEL_URL, RecordingMinter, options, unmintHtml } from './recording-minter.js';
import { countTrackableLinks } from './trackable-count.js';
import { expectSameTokens } from './tokens-against-parse5.js';
import { sharedPath } from '../helpers/shared-dir.js';

const corpus = sharedPath('corpus', 'templates');
const TEMPLATES = corpus.path;
const corpusPresent = corpus.present;
if (!corpusPresent) console.warn(`corpus test skipped: ${corpus.absence}`);

const templates = corpusPresent
  ? readdirSync(TEMPLATES)
      .filter((name) => name.endsWith('.html'))
      .sort()
  : [];

describe.skipIf(!corpusPresent)('rewriteHtml over the template corpus', () => {
  const pixel = openPixelHtml(PIXEL_URL);

  it('has templates to read', () => {
    expect(templates.length).toBeGreaterThan(0);
  });

  it.each(templates)('%s: the rewriter tokenizes it as parse5 does', (name) => {
    expectSameTokens(readFileSync(join(TEMPLATES, name), 'utf8'));
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

    const counts = countTrackableLinks(html);
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
      const counts = countTrackableLinks(html);
      links += counts.elements;
      vml += counts.inComments;
    }
    console.info(`corpus (seeded): ${templates.length} templates, ${links} trackable links, ${vml} in conditional comments`);
    expect(links).toBeGreaterThan(0);
  });
});
