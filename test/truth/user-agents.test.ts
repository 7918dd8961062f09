import { describe, expect, it } from 'vitest';
import { userAgentReason } from '../../src/truth/user-agents.js';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148';
const GMAIL_PROXY = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
const YAHOO_PROXY = 'YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html';
const OUTLOOK_WINDOWS = 'Mozilla/4.0 (compatible; ms-office; MSOffice 16)';

describe('userAgentReason', () => {
  it('leaves browsers and mail clients alone', () => {
    for (const ua of [FIREFOX, IPHONE]) {
      expect(userAgentReason(ua, 'click')).toBeUndefined();
      expect(userAgentReason(ua, 'open')).toBeUndefined();
    }
  });

  it('names scanners, previews and tools, one real string per rule', () => {
    const cases: [string, string][] = [
      ['Mozilla/5.0 (compatible; Barracuda Sentinel)', 'scanner:barracuda'],
      ['Proofpoint URL Defense', 'scanner:proofpoint'],
      ['Mimecast-URL-Protect/1.0', 'scanner:mimecast'],
      ['Mozilla/5.0 (compatible; BingPreview/1.0b)', 'scanner:microsoft'],
      ['Cisco IronPort URL Scanner', 'scanner:cisco'],
      ['Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)', 'preview:slack'],
      ['facebookexternalhit/1.1', 'preview:facebook'],
      ['WhatsApp/2.23.20.0', 'preview:whatsapp'],
      ['curl/8.5.0', 'automated'],
      ['python-requests/2.31.0', 'automated'],
      ['Go-http-client/1.1', 'automated'],
      ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36', 'automated'],
      ['SomeCrawler bot 1.0', 'automated'],
      ['', 'automated'],
    ];
    for (const [ua, reason] of cases) {
      expect(userAgentReason(ua, 'click'), ua).toBe(reason);
      expect(userAgentReason(ua, 'open'), ua).toBe(reason);
    }
  });

  it('keeps Gmail and Yahoo proxy opens human (they fetch when the person looks: mautic#16069)', () => {
    expect(userAgentReason(GMAIL_PROXY, 'open')).toBeUndefined();
    expect(userAgentReason(YAHOO_PROXY, 'open')).toBeUndefined();
  });

  it('reads ms-office as Office checking a link on a click, and as Outlook showing the message on an open', () => {
    expect(userAgentReason(OUTLOOK_WINDOWS, 'click')).toBe('scanner:microsoft');
    expect(userAgentReason(OUTLOOK_WINDOWS, 'open')).toBeUndefined();
    expect(userAgentReason('Microsoft Office Existence Discovery', 'click')).toBe('scanner:microsoft');
  });

  it('reads a bare Mozilla/5.0 as Apple MPP on an open and a tool on a click', () => {
    expect(userAgentReason('Mozilla/5.0', 'open')).toBe('apple-mpp');
    expect(userAgentReason('Mozilla/5.0', 'click')).toBe('automated');
  });
});

/**
 * A sample of the isbot package's fixtures (github.com/omrilotan/isbot, fixtures/crawlers.yml and
 * browsers.yml): its crawlers are machines here too, its browsers people, except where mail differs.
 */
describe("userAgentReason against isbot's fixtures", () => {
  const crawlers = [
    'Mozilla/5.0 (compatible; AhrefsBot/5.0; +http://ahrefs.com/robot/)',
    'ApacheBench/2.3',
    'Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)',
    'Mozilla/5.0 (compatible; Embedly/0.2; +http://support.embed.ly/)',
    'facebookcatalog/1.0',
    'got (https://github.com/sindresorhus/got)',
    'Bitrix link preview',
    'Amazon-Route53-Health-Check-Service (ref b0eb04d5-cb5e-40e7-839b-558e52fc3f0d; report http://amzn.to/1vsZADi)',
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/100.0.4896.88 Safari/537.36',
    'Apache-HttpClient/4.5.13 (Java/17.0.2)',
  ];
  it('flags its crawlers', () => {
    for (const ua of crawlers) expect(userAgentReason(ua, 'click'), ua).toBeDefined();
  });

  it("differs on purpose: isbot calls Gmail's image proxy a crawler; an open through it is a person here", () => {
    expect(userAgentReason(GMAIL_PROXY, 'open')).toBeUndefined();
  });

  it('leaves mail clients and browsers alone', () => {
    const people = [
      'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.3.0',
      'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)',
      'Outlook-iOS/723.4027091.prod.iphone (4.2440.0)',
      'Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.39 Mobile Safari/537.36',
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)',
    ];
    for (const ua of people) {
      expect(userAgentReason(ua, 'open'), ua).toBeUndefined();
      expect(userAgentReason(ua, 'click'), ua).toBeUndefined();
    }
  });
});
