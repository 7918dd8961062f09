/**
 * Shrinks the text of a stateless link: deflate (raw, level 9) primed with a preset dictionary of
 * fragments common in mailed URLs and addresses.
 *
 * Measured on the fields of a stateless click for a 200-character campaign URL and a 60-character
 * address (288 bytes, test/tokens/fixtures.ts): deflate with this dictionary 167 bytes, deflate without
 * one 217, brotli (quality 11, text mode; its built-in dictionary is general web text) 191. Short inputs
 * are dominated by what the first occurrence of each fragment costs, which is exactly what a preset
 * dictionary removes. Deflate output is deterministic for given input, settings and zlib version.
 *
 * The dictionary is part of token format version 1: changing one byte of it breaks every link already
 * sent. A new dictionary needs a new format version.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';

// Deflate codes a match more cheaply the closer it is, so the likeliest fragments come last.
const DICTIONARY = Buffer.from(
  [
    'outlook.com',
    'live.com',
    'msn.com',
    'aol.com',
    'icloud.com',
    'me.com',
    'yahoo.com',
    'hotmail.com',
    'gmail.com',
    'googlemail.com',
    '.co.uk',
    '.de',
    '.fr',
    '.nl',
    '.io',
    '.net',
    '.org',
    'unsubscribe',
    'preferences',
    'view-in-browser',
    'index.php?',
    'index.html',
    '.aspx?',
    '.html',
    '/en/',
    '/us/',
    '/blog/',
    '/news/',
    '/articles/',
    '/products/',
    '/collections/',
    '/category/',
    '/2024/',
    '/2025/',
    '/2026/',
    'newsletter',
    'campaign',
    'promo',
    'offer',
    'sale',
    '&id=',
    '?id=',
    '&email=',
    '%40',
    '&mc_eid=',
    '&mc_cid=',
    '&sub=',
    '&ref=',
    '&source=',
    '&lang=',
    '?utm_source=',
    '&utm_term=',
    '&utm_content=',
    '&utm_campaign=',
    '?utm_source=newsletter&utm_medium=email&utm_campaign=',
    'https://',
    'http://',
    '.com/',
    'www.',
    '.com',
  ].join(''),
  'latin1',
);

// Compressor settings are not part of the format (any raw deflate stream inflates with the default
// 32 KiB window). A 1 KiB window and small hash tables are enough for a few hundred bytes and
// make each call, which sets up a fresh zlib stream, about a fifth cheaper.
const DEFLATE_OPTIONS = { level: 9, windowBits: 10, memLevel: 4, dictionary: DICTIONARY };

/**
 * Upper bound on what inflating may produce. Tokens are only inflated after their MAC verified, so a
 * bomb would have to come from us; the cap still keeps a bug from allocating without limit.
 */
const MAX_INFLATED_BYTES = 16 * 1024;

export function deflateFields(plain: Buffer): Buffer {
  return deflateRawSync(plain, DEFLATE_OPTIONS);
}

/** The inflated bytes, or null when the input is not a deflate stream or would exceed the cap. */
export function inflateFields(compressed: Buffer): Buffer | null {
  try {
    return inflateRawSync(compressed, { dictionary: DICTIONARY, maxOutputLength: MAX_INFLATED_BYTES });
  } catch {
    return null;
  }
}
