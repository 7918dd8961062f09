import { BoundedMap } from '../util/bounded-map.js';
import { detached } from '../util/string-pool.js';
import type { UrlVerdict, UrlVerdicts } from './url-rules.js';

/** Longer URLs are judged every time: a cache full of them would hold megabytes. */
export const MAX_CACHED_URL_CHARS = 1024;

/**
 * URL verdicts kept across messages: every copy of a send links to the same URLs, and a first verdict
 * costs a URL parse (bench:message, 40-link newsletter: about 100 µs a message). A verdict depends on
 * the URL and the minter's tracking hosts only, so a cache serves messages minted for one set of hosts
 * (src/tracking/tracking-caches.ts holds them together). Bounded like the other caches. What it keeps
 * is copied: a URL found in a message is a slice of its decoded body, and would keep the body alive.
 */
export class UrlVerdictCache implements UrlVerdicts {
  private readonly verdicts: BoundedMap<UrlVerdict>;

  constructor(readonly capacity = 10_000) {
    this.verdicts = new BoundedMap(capacity);
  }

  /** Entries held (at most capacity, rounded up to an even number). */
  get size(): number {
    return this.verdicts.size;
  }

  get(value: string): UrlVerdict | undefined {
    return value.length > MAX_CACHED_URL_CHARS ? undefined : this.verdicts.get(value);
  }

  set(value: string, verdict: UrlVerdict): void {
    if (value.length > MAX_CACHED_URL_CHARS) return;
    const key = detached(value);
    this.verdicts.set(key, verdict.track ? { track: true, url: verdict.url === value ? key : detached(verdict.url) } : verdict);
  }
}
