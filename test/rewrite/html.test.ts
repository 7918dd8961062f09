import { describe, expect, it } from 'vitest';
import { rewriteHtml } from '../../src/rewrite/html.js';
import { openPixelHtml } from '../../src/rewrite/pixel.js';
import { PIXEL_URL, RecordingMinter, TRACKING_HOST, options } from './recording-minter.js';

const PIXEL = openPixelHtml(PIXEL_URL);

function rewrite(html: string, overrides: Parameters<typeof options>[1] = {}) {
  const minter = new RecordingMinter();
  return { minter, ...rewriteHtml(html, options(minter, overrides)) };
}

/** The URL the recording minter gives the link at this position. */
const minted = (position: number) => `https://${TRACKING_HOST}/c/h${position}x`;

describe('rewriteHtml: which hrefs are tracked', () => {
  it('rewrites absolute http and https hrefs of a and area, any scheme case', () => {
    const out = rewrite('<a href="http://a.example/">A</a><map><area href="HTTPS://b.example/x"></map><a href="Http://c.example">C</a>');
    expect(out.text).toBe(`<a href="${minted(1)}">A</a><map><area href="${minted(2)}"></map><a href="${minted(3)}">C</a>`);
    expect(out.links.map((l) => l.url)).toEqual(['http://a.example/', 'HTTPS://b.example/x', 'Http://c.example']);
    expect(out.changed).toBe(true);
  });

  it.each([
    ['mailto', 'mailto:someone@example.com'],
    ['tel', 'tel:+15555550100'],
    ['sms', 'sms:+15555550100'],
    ['fragment', '#top'],
    ['javascript', 'javascript:alert(1)'],
    ['data', 'data:text/html,hi'],
    ['relative path', '/account/settings'],
    ['protocol-relative', '//cdn.example/x'],
    ['ftp', 'ftp://files.example/'],
    ['empty host', 'http://'],
    ['empty', ''],
    ['handlebars placeholder', '{{action_url}}'],
    ['placeholder in the host', 'https://{{domain}}/path'],
    ['liquid tag', 'https://example.com/{% if x %}a{% endif %}'],
    ['mailchimp merge tag', 'https://example.com/?e=*|EMAIL|*'],
    ['percent placeholder', 'https://example.com/?id=%%subscriber_id%%'],
    ['double-bracket placeholder', 'https://example.com/?id=[[ID]]'],
    ['template literal', 'https://example.com/${path}'],
    ['percent-encoded placeholder', 'https://example.com/%7B%7Bid%7D%7D'],
    ['tracking domain', `https://${TRACKING_HOST}/c/abc`],
    ['tracking domain, other case', `HTTP://TRK.EXAMPLE.NET/c/abc`],
  ])('leaves a %s href alone', (_reason, href) => {
    const html = `<p><a href="${href}">x</a></p>`;
    const out = rewrite(html);
    expect(out.text).toBe(html);
    expect(out.links).toEqual([]);
    expect(out.skippedLinks).toBe(1);
    expect(out.changed).toBe(false);
  });

  it('tolerates whitespace around the URL and keeps it in place', () => {
    const out = rewrite('<a href="  http://a.example/x\n">x</a>');
    expect(out.text).toBe(`<a href="  ${minted(1)}\n">x</a>`);
    expect(out.links[0]?.url).toBe('http://a.example/x');
  });

  it('does not touch href on other elements (link, base, div)', () => {
    const html = '<link href="http://a.example/s.css" rel="stylesheet"><base href="http://a.example/"><div href="http://a.example/"></div>';
    expect(rewrite(html).text).toBe(html);
  });

  it('ignores markup inside style, title, textarea, script and noscript', () => {
    const html =
      '<style>.x{} <a href="http://a.example/1"></style><title><a href="http://a.example/2"></title>' +
      '<textarea><a href="http://a.example/3"></textarea><script>"<a href=\'http://a.example/4\'>"</script>' +
      '<noscript><a href="http://a.example/5"></noscript><a href="http://a.example/6">real</a>';
    const out = rewrite(html);
    expect(out.links.map((l) => l.url)).toEqual(['http://a.example/6']);
  });

  it('rewrites only the first of duplicate href attributes, which is the one browsers use', () => {
    const out = rewrite('<a href="http://a.example/1" href="http://a.example/2">x</a>');
    expect(out.text).toBe(`<a href="${minted(1)}" href="http://a.example/2">x</a>`);
  });
});

describe('rewriteHtml: source offsets', () => {
  it("stays exact past the tokenizer's 64 KiB buffer waterline", () => {
    const filler = '<p class="x">text &amp; more</p>\r\n'.repeat(8000);
    const html = `${filler}<a href="http://a.example/1">1</a>${filler}<!--[if mso]><v:rect href="http://a.example/2"></v:rect><![endif]-->${filler}</body>`;
    const out = rewrite(html, { opens: true });
    expect(out.text).toBe(
      `${filler}<a href="${minted(1)}">1</a>${filler}<!--[if mso]><v:rect href="${minted(2)}"></v:rect><![endif]-->${filler}${PIXEL}</body>`,
    );
  });

  it('stays exact around lone CRs, CRLFs and astral characters', () => {
    const html = '😀\r<a\r\nhref=http://a.example/1\rdata-notrack\r\n>😀</a>\r<a title="😀"\rhref="http://a.example/2">';
    expect(rewrite(html).text).toBe(`😀\r<a\r\nhref=http://a.example/1\r\n>😀</a>\r<a title="😀"\rhref="${minted(1)}">`);
  });
});

describe('rewriteHtml: entities and quoting', () => {
  it('decodes &amp; in the source URL and encodes & in the new one', () => {
    const minter = {
      click: () => 'https://t.example/c?a=1&b="2"',
      open: () => PIXEL_URL,
      isTrackingUrl: () => false,
    };
    const out = rewriteHtml('<a href="http://a.example/?x=1&amp;y=2&#38;z=&lt;3">x</a>', options(minter));
    expect(out.links[0]?.url).toBe('http://a.example/?x=1&y=2&z=<3');
    expect(out.text).toBe('<a href="https://t.example/c?a=1&amp;b=&quot;2&quot;">x</a>');
  });

  it('keeps single quotes, escaping a quote in the new URL', () => {
    const minter = { click: () => "https://t.example/c?q='x'", open: () => PIXEL_URL, isTrackingUrl: () => false };
    const out = rewriteHtml("<a href='http://a.example/'>x</a>", options(minter));
    expect(out.text).toBe("<a href='https://t.example/c?q=&#39;x&#39;'>x</a>");
  });

  it('keeps an unquoted value unquoted when it can be', () => {
    const out = rewrite('<a href=http://a.example/x class=y>x</a>');
    expect(out.text).toBe(`<a href=${minted(1)} class=y>x</a>`);
  });

  it('quotes an unquoted value when the new URL needs it', () => {
    const minter = { click: () => 'https://t.example/c?a=1&b=2', open: () => PIXEL_URL, isTrackingUrl: () => false };
    const out = rewriteHtml('<a href=http://a.example/x>x</a>', options(minter));
    expect(out.text).toBe('<a href="https://t.example/c?a=1&amp;b=2">x</a>');
  });

  it('finds values with spaces around = and uppercase attribute names', () => {
    const out = rewrite('<A HREF = "http://a.example/x" >x</A>');
    expect(out.text).toBe(`<A HREF = "${minted(1)}" >x</A>`);
  });

  it('keeps CRLF line endings and surrounding bytes as they are', () => {
    const html = '<a\r\n  class="b"\r\n  href="http://a.example/?a=1&amp;b=2"\r\n>x</a>\r\n';
    const out = rewrite(html);
    expect(out.text).toBe(`<a\r\n  class="b"\r\n  href="${minted(1)}"\r\n>x</a>\r\n`);
  });
});

describe('rewriteHtml: VML buttons in MSO conditional comments', () => {
  const button = (href: string) =>
    `<!--[if mso]>\n<v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" href="${href}" arcsize="10%">\n` +
    `<w:anchorlock/><center>Go</center></v:roundrect>\n<![endif]-->` +
    `<!--[if !mso]><!-- --><a href="${href}">Go</a><!--<![endif]-->`;

  it('rewrites v:roundrect inside the comment and the fallback link, in document order', () => {
    const out = rewrite(button('https://shop.example/?a=1&amp;b=2'));
    expect(out.text).toBe(button(minted(1)).replace(`<a href="${minted(1)}"`, `<a href="${minted(2)}"`));
    expect(out.links.map((l) => [l.position, l.url])).toEqual([
      [1, 'https://shop.example/?a=1&b=2'],
      [2, 'https://shop.example/?a=1&b=2'],
    ]);
  });

  it('rewrites v:rect and links inside [if gte mso 9] comments', () => {
    const html = '<!--[if gte mso 9]><v:rect href="http://a.example/r" fill="true"></v:rect><a href="http://a.example/a">a</a><![endif]-->';
    const out = rewrite(html);
    expect(out.text).toBe(`<!--[if gte mso 9]><v:rect href="${minted(1)}" fill="true"></v:rect><a href="${minted(2)}">a</a><![endif]-->`);
  });

  it('leaves ordinary comments alone', () => {
    const html = '<!-- <a href="http://a.example/"> --><!--<v:roundrect href="http://a.example/">-->';
    expect(rewrite(html).text).toBe(html);
  });

  it('leaves an unterminated conditional comment alone', () => {
    const html = '<p>x</p><!--[if mso]><v:roundrect href="http://a.example/">';
    expect(rewrite(html).text).toBe(html);
  });
});

describe('rewriteHtml: per-link markers', () => {
  it.each([
    ['data-msys-clicktrack="0"'],
    ["data-msys-clicktrack='0'"],
    ['data-notrack'],
    ['data-notrack=""'],
    ['clicktracking="off"'],
    ['clicktracking=OFF'],
    ['ClickTracking="Off"'],
    ['data-mautic-disable-tracking'],
    ['data-mautic-disable-tracking="1"'],
  ])('%s: link left, marker removed with the whitespace before it', (marker) => {
    const out = rewrite(`<a class="x" ${marker} href="http://a.example/">x</a><a href="http://b.example/" ${marker}>y</a>`);
    expect(out.text).toBe('<a class="x" href="http://a.example/">x</a><a href="http://b.example/">y</a>');
    expect(out.links).toEqual([]);
    expect(out.skippedLinks).toBe(2);
  });

  it('removes data-msys-clicktrack with another value but still tracks the link', () => {
    const out = rewrite('<a href="http://a.example/" data-msys-clicktrack="1">x</a>');
    expect(out.text).toBe(`<a href="${minted(1)}">x</a>`);
  });

  it('keeps clicktracking with a value other than off', () => {
    const out = rewrite('<a clicktracking="on" href="http://a.example/">x</a>');
    expect(out.text).toBe(`<a clicktracking="on" href="${minted(1)}">x</a>`);
  });

  it('removes a marker on a VML button inside a conditional comment', () => {
    const out = rewrite('<!--[if mso]><v:roundrect data-notrack href="http://a.example/"></v:roundrect><![endif]-->');
    expect(out.text).toBe('<!--[if mso]><v:roundrect href="http://a.example/"></v:roundrect><![endif]-->');
  });

  it('leaves markers alone when click tracking is off', () => {
    const html = '<a data-notrack href="http://a.example/">x</a>';
    expect(rewrite(html, { clicks: false, opens: false }).text).toBe(html);
  });

  it('does not count opted-out links as positions', () => {
    const out = rewrite('<a href="http://a.example/1" data-notrack>1</a><a href="http://a.example/2">2</a>');
    expect(out.links.map((l) => [l.position, l.url])).toEqual([[1, 'http://a.example/2']]);
  });
});

describe('rewriteHtml: link names', () => {
  it('captures data-msys-linkname (decoded) and removes it', () => {
    const out = rewrite('<a data-msys-linkname="Buy &amp; save" href="http://a.example/">x</a>');
    expect(out.text).toBe(`<a href="${minted(1)}">x</a>`);
    expect(out.links[0]?.linkName).toBe('Buy & save');
  });

  it('truncates a long name to 63 bytes at a character boundary', () => {
    const name = 'é'.repeat(40); // 80 bytes of UTF-8
    const out = rewrite(`<a href="http://a.example/" data-msys-linkname="${name}">x</a>`);
    expect(out.links[0]?.linkName).toBe('é'.repeat(31));
    expect(Buffer.byteLength(out.links[0]?.linkName ?? '')).toBe(62);
    const ascii = rewrite(`<a href="http://a.example/" data-msys-linkname="${'n'.repeat(70)}">x</a>`);
    expect(ascii.links[0]?.linkName).toBe('n'.repeat(63));
  });

  it('has no linkName when there is none or it is empty', () => {
    const out = rewrite('<a href="http://a.example/1">1</a><a href="http://a.example/2" data-msys-linkname="">2</a>');
    expect(out.links.map((l) => 'linkName' in l)).toEqual([false, false]);
    expect(out.text).toBe(`<a href="${minted(1)}">1</a><a href="${minted(2)}">2</a>`);
  });

  it('removes the name from a link that is not tracked', () => {
    const out = rewrite('<a href="mailto:x@example.com" data-msys-linkname="mail">x</a>');
    expect(out.text).toBe('<a href="mailto:x@example.com">x</a>');
  });
});

describe('rewriteHtml: positions', () => {
  it('numbers trackable links 1.. in document order; the same URL twice is two positions', () => {
    const out = rewrite('<a href="http://a.example/">1</a><a href="#x">skip</a><a href="http://a.example/">2</a><area href="http://b.example/">');
    expect(out.links.map((l) => [l.position, l.part, l.url])).toEqual([
      [1, 'h', 'http://a.example/'],
      [2, 'h', 'http://a.example/'],
      [3, 'h', 'http://b.example/'],
    ]);
    expect(out.skippedLinks).toBe(1);
  });

  it('counts a link the minter declines as a position, leaves it and counts it skipped', () => {
    const minter = new RecordingMinter(true);
    const html = '<a href="http://a.example/">1</a><a href="http://b.example/">2</a>';
    const out = rewriteHtml(html, options(minter));
    expect(out.text).toBe(html);
    expect(minter.calls.map((c) => c.position)).toEqual([1, 2]);
    expect(out.skippedLinks).toBe(2);
    expect(out.changed).toBe(false);
  });
});

describe('rewriteHtml: open pixel', () => {
  const opens = { opens: true };

  it('replaces the first <opentag/> and keeps later ones', () => {
    const out = rewrite('<body><p>x</p><OpenTag/><p>y</p><opentag></body>', opens);
    expect(out.text).toBe(`<body><p>x</p>${PIXEL}<p>y</p><opentag></body>`);
    expect(out.pixel).toBe('opentag');
  });

  it('replaces <opentag> without a slash', () => {
    expect(rewrite('<opentag><p>x</p>', opens).text).toBe(`${PIXEL}<p>x</p>`);
  });

  it('goes immediately before the first </body>', () => {
    const out = rewrite('<html><body><p>x</p>\n</BODY>\n</html></body>', opens);
    expect(out.text).toBe(`<html><body><p>x</p>\n${PIXEL}</BODY>\n</html></body>`);
    expect(out.pixel).toBe('before-body');
  });

  it('is appended when there is neither', () => {
    const out = rewrite('<p>x</p>', opens);
    expect(out.text).toBe(`<p>x</p>${PIXEL}`);
    expect(out.pixel).toBe('appended');
  });

  it('ignores </body> and <opentag> inside comments and style', () => {
    const out = rewrite('<!-- </body> <opentag> --><style></body></style><p>x</p></body>', opens);
    expect(out.text).toBe(`<!-- </body> <opentag> --><style></body></style><p>x</p>${PIXEL}</body>`);
  });

  it('is placed together with rewritten links', () => {
    const out = rewrite('<a href="http://a.example/">x</a><opentag/><a href="http://b.example/">y</a>', opens);
    expect(out.text).toBe(`<a href="${minted(1)}">x</a>${PIXEL}<a href="${minted(2)}">y</a>`);
  });

  it('is 1x1 with empty alt and no border', () => {
    expect(PIXEL).toMatch(/^<img src="https:\/\/trk\.example\.net\/o\/PIXEL" width="1" height="1" alt="" border="0" style="[^"]*">$/);
  });

  it('is inserted with clicks off, links untouched', () => {
    const out = rewrite('<a href="http://a.example/">x</a></body>', { opens: true, clicks: false });
    expect(out.text).toBe(`<a href="http://a.example/">x</a>${PIXEL}</body>`);
    expect(out.links).toEqual([]);
  });
});

describe('rewriteHtml: unchanged input', () => {
  it('returns the very same string when there is nothing to track and opens are off', () => {
    const html = '<!DOCTYPE html>\r\n<html><body><a href="#">x</a> &amp; <a href="mailto:a@b.example">m</a></body></html>';
    const out = rewrite(html);
    expect(out.text).toBe(html);
    expect(out.changed).toBe(false);
    expect(out.pixel).toBeNull();
  });

  it('returns the input when clicks and opens are both off', () => {
    const html = '<a href="http://a.example/">x</a>';
    const out = rewrite(html, { clicks: false, opens: false });
    expect(out.text).toBe(html);
    expect(out.changed).toBe(false);
  });
});

describe('rewriteHtml: link limit', () => {
  it('over the limit: tracks the first maxLinks links in document order, leaves the rest as they are, says so', () => {
    const html =
      '<a href="http://a.example/1">1</a><!--[if mso]><v:roundrect href="http://a.example/2"></v:roundrect><![endif]-->' +
      '<a href="http://a.example/3">3</a><a href="http://a.example/4" data-msys-linkname="four">4</a></body>';
    const minter = new RecordingMinter();
    const out = rewriteHtml(html, options(minter, { maxLinks: 2, opens: true }));
    expect(out.links.map((l) => [l.position, l.url])).toEqual([
      [1, 'http://a.example/1'],
      [2, 'http://a.example/2'],
    ]);
    expect(minter.calls).toHaveLength(2);
    expect(out.limit).toEqual({ reason: 'max-links', maxLinks: 2, found: 4 });
    expect(out.skippedLinks).toBe(2);
    // The links past the limit keep their href; the marker goes, as for any link with click tracking on.
    expect(out.text).toContain('<a href="http://a.example/3">3</a><a href="http://a.example/4">4</a>');
    expect(out.text).not.toContain('href="http://a.example/1"');
    expect(out.pixel).toBe('before-body');
  });

  it('allows exactly maxLinks', () => {
    const out = rewrite('<a href="http://a.example/1">1</a><a href="http://a.example/2">2</a>', { maxLinks: 2 });
    expect(out.links).toHaveLength(2);
    expect(out.limit).toBeUndefined();
  });
});

describe('rewriteHtml: broken HTML never throws', () => {
  it.each([
    ['unclosed tags', '<div><p><a href="http://a.example/">x', '<div><p><a href="H1">x'],
    ['stray <', 'a < b <a href="http://a.example/">x</a> c <', 'a < b <a href="H1">x</a> c <'],
    ['attribute without value', '<a download href="http://a.example/" target>x</a>', '<a download href="H1" target>x</a>'],
    ['tag cut off at the end', '<a href="http://a.example/">x</a><a href="http://b.example/', '<a href="H1">x</a><a href="http://b.example/'],
    ['unterminated comment', '<a href="http://a.example/">x</a><!-- <a href="http://b.example/">', '<a href="H1">x</a><!-- <a href="http://b.example/">'],
    ['href without a value', '<a href>x</a><a href=>y</a>', '<a href>x</a><a href=>y</a>'],
    [
      'NUL and odd characters',
      '<a title="\u0000" href="http://a.example/\u0000">x</a>\uFFFF<b\u0000 href="http://b.example/">',
      '<a title="\u0000" href="H1">x</a>\uFFFF<b\u0000 href="http://b.example/">',
    ],
    ['missing space between attributes', '<a class="x"href="http://a.example/"data-notrack>x</a>', '<a class="x"href="http://a.example/">x</a>'],
    ['end tag with attributes', '</a href="http://a.example/"><a href="http://b.example/">', '</a href="http://a.example/"><a href="H1">'],
  ])('%s', (_name, html, expected) => {
    const out = rewrite(html);
    expect(out.text).toBe(expected.replace('H1', minted(1)));
  });
});

describe('rewriteHtml: unsubscribe links (data-msys-unsubscribe)', () => {
  it('flags a marked link with a URL of its own, and removes the mark', () => {
    const out = rewrite('<a data-msys-unsubscribe="1" href="https://sender.example/leave?u=7">leave</a><a href="http://a.example/">a</a>');
    expect(out.text).toBe(`<a href="${minted(1)}">leave</a><a href="${minted(2)}">a</a>`);
    expect(out.links.map((l) => [l.url, l.unsubscribe])).toEqual([
      ['https://sender.example/leave?u=7', true],
      ['http://a.example/', undefined],
    ]);
  });

  it('gives a marked link without a URL (# or empty) the placeholder, which the minter replaces', () => {
    const out = rewrite('<a href="#" data-msys-unsubscribe="1">x</a><a href="" data-msys-unsubscribe="1">y</a><a href="#" data-msys-unsubscribe="0">z</a>');
    expect(out.links.map((l) => [l.url, l.unsubscribe])).toEqual([
      ['https://trackmilter.invalid/unsubscribe', true],
      ['https://trackmilter.invalid/unsubscribe', true],
    ]);
    expect(out.text).toBe(`<a href="${minted(1)}">x</a><a href="${minted(2)}">y</a><a href="#">z</a>`);
  });

  it('an opted-out marked link stays as it is, mark removed', () => {
    const out = rewrite('<a href="https://sender.example/leave" data-msys-unsubscribe="1" data-msys-clicktrack="0">x</a>');
    expect(out.text).toBe('<a href="https://sender.example/leave">x</a>');
    expect(out.links).toEqual([]);
  });
});
