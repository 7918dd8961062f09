import { describe, expect, it } from 'vitest';
import { rewriteHtml } from '../../src/rewrite/html.js';
import { judgeUrl } from '../../src/rewrite/url-rules.js';
import { RecordingMinter, options } from './recording-minter.js';

describe('judgeUrl', () => {
  it('joins an href wrapped over lines, as browsers do, so the link records where it really leads', () => {
    expect(judgeUrl('  https://example.com/a\r\n/b?x=1\t&y=2 ', new RecordingMinter())).toEqual({ track: true, url: 'https://example.com/a/b?x=1&y=2' });
  });

  it('a wrapped href in HTML is rewritten as one link to the joined URL', () => {
    const minter = new RecordingMinter();
    const out = rewriteHtml('<a href="https://example.com/very/\r\nlong?q=1">x</a>', options(minter));
    expect(out.links.map((l) => l.url)).toEqual(['https://example.com/very/long?q=1']);
    expect(out.text).toBe('<a href="https://trk.example.net/c/h1x">x</a>');
  });
});

describe('judgeUrl on links that are ours already', () => {
  it('never tracks a link to a tracking domain again, whatever its case, port or scheme', () => {
    for (const url of ['https://trk.example.net/c/abc', 'HTTP://TRK.Example.NET:8080/o/x', 'https://trk.example.net?x=1']) {
      expect(judgeUrl(url, new RecordingMinter())).toEqual({ track: false, reason: 'tracking-domain' });
    }
    expect(judgeUrl('https://trk.example.net.evil.example/c/abc', new RecordingMinter())).toMatchObject({ track: true });
  });
});

describe('judgeUrl on URLs no browser could follow', () => {
  it('leaves an href with a space in its host alone (found by the fuzzer)', () => {
    expect(judgeUrl('http://www.pr Display', new RecordingMinter())).toEqual({ track: false, reason: 'invalid' });
    expect(judgeUrl('https://exa mple.com/a', new RecordingMinter())).toEqual({ track: false, reason: 'invalid' });
    expect(judgeUrl('https://example.com/a b', new RecordingMinter())).toMatchObject({ track: true });
  });
});
