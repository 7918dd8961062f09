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
