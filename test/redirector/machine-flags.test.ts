import { describe, expect, it } from 'vitest';
import { createMachineClassifier, type MachineFlagInput } from '../../src/redirector/machine-flags.js';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const NOW = 1_700_000_000_000;

function input(over: Partial<MachineFlagInput>): MachineFlagInput {
  return { kind: 'click', isHead: false, userAgent: FIREFOX, ip: '198.51.100.4', deliveredAt: undefined, now: NOW, ...over };
}

describe('machine flags', () => {
  const classify = createMachineClassifier();

  it('leaves a browser alone', () => {
    expect(classify(input({}))).toBeUndefined();
    expect(classify(input({ kind: 'open' }))).toBeUndefined();
  });

  it('flags HEAD requests', () => {
    expect(classify(input({ isHead: true }))).toBe('head');
  });

  it('names known scanners, previews and tools', () => {
    const cases: [string, string][] = [
      ['Mozilla/5.0 (compatible; Barracuda Sentinel)', 'scanner:barracuda'],
      ['Proofpoint URL Defense', 'scanner:proofpoint'],
      ['Mimecast-URL-Protect/1.0', 'scanner:mimecast'],
      ['Mozilla/4.0 (compatible; ms-office; MSOffice 16)', 'scanner:microsoft'],
      ['Mozilla/5.0 (compatible; BingPreview/1.0b)', 'scanner:microsoft'],
      ['Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)', 'preview:slack'],
      ['facebookexternalhit/1.1', 'preview:facebook'],
      ['curl/8.5.0', 'automated'],
      ['python-requests/2.31.0', 'automated'],
      ['Go-http-client/1.1', 'automated'],
      ['SomeCrawler bot 1.0', 'automated'],
      ['', 'automated'],
    ];
    for (const [userAgent, reason] of cases) expect(classify(input({ userAgent })), userAgent).toBe(reason);
    expect(classify(input({ userAgent: 'curl/8.5.0', isHead: true }))).toBe('head,automated');
  });

  it('flags image proxies on opens only', () => {
    const gmail = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
    expect(classify(input({ kind: 'open', userAgent: gmail }))).toBe('image-proxy:google');
    expect(classify(input({ kind: 'click', userAgent: gmail }))).toBeUndefined();
    expect(classify(input({ kind: 'open', userAgent: 'YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html' }))).toBe(
      'image-proxy:yahoo',
    );
  });

  it('recognises the Apple Mail Privacy Protection pattern on opens', () => {
    expect(classify(input({ kind: 'open', userAgent: 'Mozilla/5.0' }))).toBe('apple-mpp');
    expect(classify(input({ kind: 'open', ip: '17.58.101.4' }))).toBe('apple-mpp');
    // a real Apple Mail fetch without MPP carries a full user agent from the reader's own address
    expect(classify(input({ kind: 'open', userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)' }))).toBeUndefined();
    expect(classify(input({ kind: 'click', userAgent: 'Mozilla/5.0' }))).toBeUndefined();
    const extra = createMachineClassifier({ appleProxyRanges: ['17.0.0.0/8', '172.224.224.0/27'] });
    expect(extra(input({ kind: 'open', ip: '172.224.224.5' }))).toBe('apple-mpp');
  });

  it('flags a click within N seconds of delivery', () => {
    expect(classify(input({ deliveredAt: NOW - 3_000 }))).toBe('fast-click');
    expect(classify(input({ deliveredAt: new Date(NOW - 60_000) }))).toBeUndefined();
    expect(classify(input({ kind: 'open', deliveredAt: NOW - 1_000 }))).toBeUndefined();
    const off = createMachineClassifier({ fastClickSeconds: 0 });
    expect(off(input({ deliveredAt: NOW - 1 }))).toBeUndefined();
    const slow = createMachineClassifier({ fastClickSeconds: 120 });
    expect(slow(input({ deliveredAt: NOW - 60_000 }))).toBe('fast-click');
  });
});
