import type { LinkFound, LinkMinter } from '../../src/rewrite/types.js';

export const TRACKING_HOST = 'trk.example.net';
export const PIXEL_URL = `https://${TRACKING_HOST}/o/PIXEL`;

/**
 * A minter that records what it hands out, independently of what the rewriter reports: each new URL is
 * unique and maps back to the original in its own Map.
 */
export class RecordingMinter implements LinkMinter {
  readonly original = new Map<string, string>();
  readonly calls: LinkFound[] = [];

  constructor(private readonly decline = false) {}

  click(link: LinkFound): string | null {
    this.calls.push(link);
    if (this.decline) return null;
    const newUrl = `https://${TRACKING_HOST}/c/${link.part}${link.position}x`;
    this.original.set(newUrl, link.url);
    return newUrl;
  }

  open(): string {
    return PIXEL_URL;
  }

  isTrackingUrl(url: URL): boolean {
    return url.hostname === TRACKING_HOST;
  }
}

export function options(minter: LinkMinter, overrides: Partial<{ clicks: boolean; opens: boolean; maxLinks: number }> = {}) {
  return { minter, clicks: true, opens: false, maxLinks: 1000, ...overrides };
}

/** Put the original URLs back in place of the minted ones, encoded as HTML attribute text (`&` -> `&amp;`). */
export function unmintHtml(output: string, minter: RecordingMinter): string {
  return unmint(output, minter, (url) => url.replace(/&/g, '&amp;').replace(/"/g, '&quot;'));
}

export function unmintText(output: string, minter: RecordingMinter): string {
  return unmint(output, minter, (url) => url);
}

/** Every URL click() can mint (the `x` ends the number, so that `.../h1x` never matches inside `.../h11x`). */
const MINTED = new RegExp(`https://${TRACKING_HOST.replace(/\./g, '\\.')}/c/[a-z]+\\d+x`, 'g');

/** One pass over the output (not one per link: thousands of links in a 100 KB line made that quadratic). */
function unmint(output: string, minter: RecordingMinter, encode: (url: string) => string): string {
  return output.replace(MINTED, (newUrl) => {
    const original = minter.original.get(newUrl);
    return original === undefined ? newUrl : encode(original);
  });
}
