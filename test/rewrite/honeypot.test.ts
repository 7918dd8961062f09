import { parse } from 'parse5';
import { describe, expect, it } from 'vitest';
import { rewriteHtml } from '../../src/rewrite/html.js';
import { HONEYPOT_LINK_NAME } from '../../src/rewrite/honeypot.js';
import { options, RecordingMinter, TRACKING_HOST } from './recording-minter.js';

const PAGE = '<html><body><p>Hello <a href="https://shop.example/sale">sale</a> and <a href="https://shop.example/news">news</a></p></body></html>';

interface Node {
  nodeName: string;
  attrs?: Array<{ name: string; value: string }>;
  childNodes?: Node[];
}
function anchors(node: Node, out: Node[] = []): Node[] {
  if (node.nodeName === 'a') out.push(node);
  for (const child of node.childNodes ?? []) anchors(child, out);
  return out;
}
const attr = (node: Node, name: string): string | undefined => node.attrs?.find((a) => a.name === name)?.value;

describe('honeypot link', () => {
  it('adds one empty, aria-hidden, untabbable link at position 0 leading where the first link leads', () => {
    const minter = new RecordingMinter();
    const out = rewriteHtml(PAGE, { ...options(minter), honeypot: true });
    expect(out.links.map((l) => [l.position, l.url, l.linkName])).toEqual([
      [0, 'https://shop.example/sale', HONEYPOT_LINK_NAME],
      [1, 'https://shop.example/sale', undefined],
      [2, 'https://shop.example/news', undefined],
    ]);
    const all = anchors(parse(out.text));
    expect(all).toHaveLength(3);
    const trap = all.find((a) => attr(a, 'href') === `https://${TRACKING_HOST}/c/h0x`)!;
    expect(attr(trap, 'aria-hidden')).toBe('true');
    expect(attr(trap, 'tabindex')).toBe('-1');
    expect(trap.childNodes).toEqual([]); // nothing to see, click or read out
    expect(out.text.indexOf('h0x')).toBeLessThan(out.text.indexOf('</body>'));
    // nothing else changed: without the honeypot the rest is the same text
    const plain = rewriteHtml(PAGE, options(new RecordingMinter()));
    expect(out.text.replace(/<a href="[^"]*h0x"[^>]*><\/a>/, '')).toBe(plain.text);
  });

  it('is not added when off, or when the part has no tracked link', () => {
    expect(rewriteHtml(PAGE, options(new RecordingMinter())).links.some((l) => l.position === 0)).toBe(false);
    const none = rewriteHtml('<p>no links</p>', { ...options(new RecordingMinter()), honeypot: true });
    expect(none.links).toEqual([]);
    expect(none.text).toBe('<p>no links</p>');
  });
});
