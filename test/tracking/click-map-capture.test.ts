// What the click map keeps of a message: its HTML part with each trackable link marked by the position
// the rewriter gives it, and without the recipient's personal data unless told to keep it.
import { describe, expect, it } from 'vitest';
import { captureClickMapHtml, CLICK_MAP_ORIGIN, redact } from '../../src/tracking/click-map-capture.js';
import { renderClickMap } from '../../src/reports/click-map.js';
import { buildNewsletter, defaultNewsletterSpec, SEND } from '../app/helpers/newsletter.js';
import { defaultConfig } from '../../src/config/load.js';
import { rewriteSettings } from '../../src/tracking/settings.js';

const settings = rewriteSettings(defaultConfig(), { clicks: true, opens: true });
const options = { recipients: [SEND.recipient], emailCode: SEND.emailCode, isTrackingUrl: () => false };

describe('click map capture', () => {
  it('marks every trackable HTML link with its position, in document order, and nothing else', () => {
    const message = buildNewsletter();
    const html = captureClickMapHtml(message.headers, message.body, settings, { ...options, mode: 'keep' })!;
    const marked = [...html.matchAll(new RegExp(`${CLICK_MAP_ORIGIN}/h/(\\d+)\\?u=([^"]*)`, 'g'))].map((m) => [Number(m[1]), decodeURIComponent(m[2]!)]);
    const tracked = defaultNewsletterSpec().anchors.filter((a) => a.tracked);
    expect(marked).toEqual(tracked.map((a, i) => [i + 1, a.href]));
    expect(html).toContain('mailto:help@shop.example');
  });

  it('redact drops query strings, the recipient (also percent-encoded) and the email code', () => {
    const message = buildNewsletter();
    const html = captureClickMapHtml(message.headers, message.body, settings, { ...options, mode: 'redact' })!;
    expect(html).not.toContain(SEND.recipient);
    expect(html).not.toContain(encodeURIComponent(SEND.recipient));
    expect(html).not.toContain('sku=MS-42');
    expect(html).toContain(`${CLICK_MAP_ORIGIN}/h/4?u=${encodeURIComponent('https://shop.example/p/merino-sweater')}`);
    expect(redact(`<p>Hi ${SEND.recipient.toUpperCase()}, code ${SEND.emailCode}</p>`, [SEND.recipient], SEND.emailCode)).toBe(
      '<p>Hi recipient@example.invalid, code EMAIL-CODE</p>',
    );
  });

  it('a message without an HTML part keeps nothing', () => {
    const headers = [{ name: 'Content-Type', value: 'text/plain' }];
    expect(captureClickMapHtml(headers, Buffer.from('see https://shop.example/\r\n'), settings, { ...options, mode: 'keep' })).toBeNull();
  });

  it('rendered, each marked link gets its human clicks and share, and no href or refresh survives', () => {
    const message = buildNewsletter();
    const html = captureClickMapHtml(message.headers, message.body, settings, { ...options, mode: 'redact' })!;
    const positions = [
      { part: 'h', position: 1, url: 'https://shop.example/', linkName: 'logo', clicks: 5, humanClicks: 3 },
      { part: 't', position: 1, url: 'https://shop.example/', linkName: '', clicks: 9, humanClicks: 9 },
    ];
    const { html: out, links } = renderClickMap(html + '<meta http-equiv="refresh" content="0;url=https://x.example/">', positions, 12);
    expect(links.slice(0, 2)).toEqual([
      { position: 1, url: 'https://shop.example/', humanClicks: 3, share: 0.25 },
      { position: 2, url: 'https://shop.example/articles/2026/autumn-collection', humanClicks: 0, share: 0 },
    ]);
    expect(out).toContain('#1: 3 clicks, 25.0%');
    expect(out).not.toMatch(/\shref\s*=/i);
    expect(out).not.toMatch(/http-equiv/i);
  });
});
