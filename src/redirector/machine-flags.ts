/**
 * Whether a click or open was made by a machine rather than a person, and why. Reports can then count
 * with and without these events. Every rule here is a heuristic: user agents can be spoofed and
 * scanners often wear a browser's, so this marks the known cases rather than proving anything.
 *
 * Rules (reasons as recorded in `machineReason`, comma-separated when several apply):
 * - `head`: a HEAD request; browsers following a link use GET, link checkers use HEAD.
 * - `scanner:<name>`: the user agent of a mail security gateway that follows links before (or
 *   instead of) the recipient: Barracuda, Proofpoint, Mimecast, Microsoft Defender / Safe Links and
 *   Office link previews, Cisco IronPort, Symantec/MessageLabs, Trend Micro.
 * - `image-proxy:<name>`: a webmail image proxy fetching the pixel: Google (`GoogleImageProxy`,
 *   Gmail's proxy, which fetches when the message is displayed but caches), Yahoo (`YahooMailProxy`).
 * - `preview:<name>`: chat and social link-preview bots (Slack, Facebook, Twitter, LinkedIn, Discord,
 *   Telegram, WhatsApp, Skype, Iframely/Embedly).
 * - `automated`: HTTP libraries and command-line tools (curl, Wget, python-requests, Go-http-client,
 *   okhttp, Java, axios, node-fetch, undici, headless Chrome), anything calling itself a bot, crawler
 *   or spider, and requests without a user agent.
 * - `apple-mpp` (opens only): Apple Mail Privacy Protection. Apple fetches every image of a message
 *   through its proxies when the message arrives on the device, whether or not it is read. Those
 *   fetches carry a generic `Mozilla/5.0` user agent with nothing after it, and leave from Apple's
 *   egress ranges (the iCloud Private Relay infrastructure: Apple's 17.0.0.0/8 and ranges of CDN
 *   partners, published by Apple as an egress list). We flag an open whose user agent is exactly
 *   `Mozilla/5.0`, or whose client address is in `appleProxyRanges` (default 17.0.0.0/8 only).
 *   Limits: partner egress ranges are not built in (load Apple's published list into
 *   `appleProxyRanges` to cover them, accepting that Private Relay users browsing normally from those
 *   ranges are flagged too); behind a proxy the address check needs trusted X-Forwarded-For; an open
 *   the person really made through MPP is indistinguishable from the prefetch.
 * - `fast-click` (clicks only): the click came within `fastClickSeconds` of the message's delivery
 *   (when the resolver knows it), faster than a person reads mail: a gateway scanning on arrival.
 */
import { BoundedMap } from '../util/bounded-map.js';
import { AddressSet } from './ip-address.js';
import type { LinkKind } from './types.js';

interface UserAgentRule {
  pattern: RegExp;
  reason: string;
  /** The rule only applies to this kind of request (image proxies mean nothing on a click). */
  kind?: LinkKind;
}

const USER_AGENT_RULES: readonly UserAgentRule[] = [
  { pattern: /barracuda/i, reason: 'scanner:barracuda' },
  { pattern: /proofpoint/i, reason: 'scanner:proofpoint' },
  { pattern: /mimecast/i, reason: 'scanner:mimecast' },
  { pattern: /safelinks|microsoft defender|microsoft office existence discovery|ms-office|bingpreview/i, reason: 'scanner:microsoft' },
  { pattern: /ironport/i, reason: 'scanner:cisco' },
  { pattern: /symantec|messagelabs/i, reason: 'scanner:symantec' },
  { pattern: /trend ?micro/i, reason: 'scanner:trendmicro' },
  { pattern: /GoogleImageProxy/, reason: 'image-proxy:google', kind: 'open' },
  { pattern: /YahooMailProxy/, reason: 'image-proxy:yahoo', kind: 'open' },
  { pattern: /slackbot|slack-imgproxy/i, reason: 'preview:slack' },
  { pattern: /facebookexternalhit|facebookcatalog/i, reason: 'preview:facebook' },
  { pattern: /twitterbot/i, reason: 'preview:twitter' },
  { pattern: /linkedinbot/i, reason: 'preview:linkedin' },
  { pattern: /discordbot/i, reason: 'preview:discord' },
  { pattern: /telegrambot/i, reason: 'preview:telegram' },
  { pattern: /whatsapp/i, reason: 'preview:whatsapp' },
  { pattern: /skypeuripreview/i, reason: 'preview:skype' },
  { pattern: /iframely|embedly/i, reason: 'preview:embed' },
  {
    pattern: /^(curl|wget|python-requests|python-urllib|python-httpx|aiohttp|go-http-client|libwww-perl|okhttp|java|axios|node-fetch|undici|node)\b|headlesschrome|\b(bot|crawler|spider)\b/i,
    reason: 'automated',
  },
];

/** Exactly what Apple's MPP proxies send: the product token and nothing else. */
const APPLE_MPP_USER_AGENT = 'Mozilla/5.0';

export interface MachineFlagOptions {
  /** A click within this many seconds of delivery is flagged `fast-click`; 0 disables. Default 10. */
  fastClickSeconds?: number;
  /** Apple MPP egress ranges for opens. Default ['17.0.0.0/8']. */
  appleProxyRanges?: readonly string[];
}

export interface MachineFlagInput {
  kind: LinkKind;
  isHead: boolean;
  userAgent: string;
  /** The full client address, before any truncation. */
  ip: string;
  deliveredAt: Date | number | undefined;
  now: number;
}

/** The machine reasons for a request, or undefined for what looks like a person. */
export type MachineClassifier = (input: MachineFlagInput) => string | undefined;

/** Bounded so that a flood of distinct user agents cannot grow memory; real traffic repeats a few. */
const USER_AGENT_CACHE_LIMIT = 2000;

export function createMachineClassifier(options: MachineFlagOptions = {}): MachineClassifier {
  const fastClickMs = (options.fastClickSeconds ?? 10) * 1000;
  const appleRanges = new AddressSet(options.appleProxyRanges ?? ['17.0.0.0/8'], 'Apple proxy range');
  // user agent -> [click reason, open reason] ('' for none); keyed by the whole string
  const cache = new BoundedMap<[string, string]>(USER_AGENT_CACHE_LIMIT);

  const userAgentReasons = (userAgent: string): [string, string] => {
    let cached = cache.get(userAgent);
    if (cached) return cached;
    let click = '';
    let open = '';
    if (userAgent === '') {
      click = open = 'automated';
    } else {
      for (const rule of USER_AGENT_RULES) {
        if (!rule.pattern.test(userAgent)) continue;
        if (rule.kind !== 'open') click ||= rule.reason;
        if (rule.kind !== 'click') open ||= rule.reason;
      }
    }
    cached = [click, open];
    cache.set(userAgent, cached);
    return cached;
  };

  return ({ kind, isHead, userAgent, ip, deliveredAt, now }) => {
    const reasons: string[] = [];
    if (isHead) reasons.push('head');
    const [clickReason, openReason] = userAgentReasons(userAgent);
    const uaReason = kind === 'click' ? clickReason : openReason;
    if (uaReason) reasons.push(uaReason);
    if (kind === 'open' && (userAgent === APPLE_MPP_USER_AGENT || appleRanges.has(ip))) reasons.push('apple-mpp');
    if (kind === 'click' && fastClickMs > 0 && deliveredAt !== undefined) {
      const since = now - (typeof deliveredAt === 'number' ? deliveredAt : deliveredAt.getTime());
      if (since >= 0 && since < fastClickMs) reasons.push('fast-click');
    }
    return reasons.length === 0 ? undefined : reasons.join(',');
  };
}
