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

function unmint(output: string, minter: RecordingMinter, encode: (url: string) => string): string {
  let text = output;
  // Longest first, so that `.../h1x` never matches inside `.../h11x` (the `x` suffix prevents it too).
  const minted = [...minter.original.keys()].sort((a, b) => b.length - a.length);
  for (const newUrl of minted) text = text.split(newUrl).join(encode(minter.original.get(newUrl) as string));
  return text;
}
