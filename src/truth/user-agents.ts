/**
 * Machine verdicts from the User-Agent header alone. Pure; the redirector caches results per string.
 *
 * Sources for the patterns (what each product sends; kept in test/truth/user-agents.test.ts with one
 * real string per rule):
 * - Security gateways: Barracuda ("Barracuda Sentinel"), Proofpoint URL Defense, Mimecast URL Protect,
 *   Microsoft Safe Links / Defender, Cisco IronPort, Symantec/MessageLabs, Trend Micro: as logged in
 *   mautic#9798, mautic#16263, craft-campaign#546 and listmonk#1025. Most gateways also fetch with a
 *   plain browser string from their own networks: ./address-ranges.ts and the behaviour rules catch those.
 * - `ms-office` / "Microsoft Office Existence Discovery": Office checks a link before opening it for
 *   the person (a machine request on a click); on an open the same token is Outlook for Windows
 *   rendering the message for the person (human).
 * - Chat and social link previews: each vendor's documented crawler name (Slackbot, facebookexternalhit,
 *   Twitterbot, LinkedInBot, Discordbot, TelegramBot, WhatsApp, SkypeUriPreview, Iframely, Embedly).
 * - Tools: HTTP libraries' default strings (curl, Wget, python-requests, Go-http-client, ...), headless
 *   browsers, anything calling itself bot/crawler/spider, an empty user agent; then everything the
 *   `isbot` package (maintained against its fixtures of crawlers and browsers) calls a bot, as
 *   `automated`. Our own rules come first so that the reason names the vendor where it can.
 * - A user agent of exactly `Mozilla/5.0` is Apple MPP's image fetch on an open (Apple sends nothing
 *   after the product token) and a tool on a click.
 * - Opens through Gmail's image proxy (`GoogleImageProxy`) and Yahoo's (`YahooMailProxy`) are human:
 *   those proxies fetch the pixel when the person displays the message (Google, "Image proxy" in Gmail
 *   help; Yahoo help SLN28749). isbot-style lists call them bots, and Mautic 7.1 dropped real opens that
 *   way (mautic#16069).
 */
import { isbot } from 'isbot';
import type { LinkKind } from '../redirector/types.js';

interface UserAgentRule {
  pattern: RegExp;
  reason: string;
  /** Applies only to this kind of request. */
  kind?: LinkKind;
}

/** In order: the first rule that matches gives the reason. */
export const USER_AGENT_RULES: readonly UserAgentRule[] = [
  { pattern: /barracuda/i, reason: 'scanner:barracuda' },
  { pattern: /proofpoint/i, reason: 'scanner:proofpoint' },
  { pattern: /mimecast/i, reason: 'scanner:mimecast' },
  { pattern: /safelinks|microsoft defender|bingpreview/i, reason: 'scanner:microsoft' },
  { pattern: /microsoft office existence discovery|\bms-office\b|microsoft office protocol discovery/i, reason: 'scanner:microsoft', kind: 'click' },
  { pattern: /ironport|cisco[- ]?(secure|esa)/i, reason: 'scanner:cisco' },
  { pattern: /symantec|messagelabs/i, reason: 'scanner:symantec' },
  { pattern: /trend ?micro/i, reason: 'scanner:trendmicro' },
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
    pattern:
      /^(curl|wget|python-requests|python-urllib|python-httpx|aiohttp|go-http-client|libwww-perl|okhttp|java|axios|node-fetch|undici|node|apache-httpclient|scrapy|httpie|postmanruntime|powershell)\b|headlesschrome|phantomjs|\b(bot|crawler|spider)\b/i,
    reason: 'automated',
  },
];

/** Human image proxies: an open through them is the person displaying the message. */
const HUMAN_IMAGE_PROXY = /GoogleImageProxy|YahooMailProxy/;

/** What Apple MPP's proxies send: the product token and nothing else. */
export const APPLE_MPP_USER_AGENT = 'Mozilla/5.0';

/** The machine reason the user agent gives a click or an open, or undefined. */
export function userAgentReason(userAgent: string, kind: LinkKind): string | undefined {
  if (userAgent === '') return 'automated';
  if (userAgent === APPLE_MPP_USER_AGENT) return kind === 'open' ? 'apple-mpp' : 'automated';
  if (kind === 'open' && HUMAN_IMAGE_PROXY.test(userAgent)) return undefined;
  for (const rule of USER_AGENT_RULES) {
    if (rule.kind !== undefined && rule.kind !== kind) continue;
    if (rule.pattern.test(userAgent)) return rule.reason;
  }
  return isbot(userAgent) ? 'automated' : undefined;
}

/** Whether an open came through a webmail image proxy that fetches when the person looks (human). */
export function isHumanImageProxy(userAgent: string): boolean {
  return HUMAN_IMAGE_PROXY.test(userAgent);
}
