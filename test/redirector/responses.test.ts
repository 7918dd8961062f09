import { describe, expect, it } from 'vitest';
import { safeLocation, TRANSPARENT_GIF } from '../../src/redirector/responses.js';

describe('safeLocation', () => {
  it('passes absolute http and https URLs in their serialized form', () => {
    expect(safeLocation('https://example.com/a?b=c#d')).toBe('https://example.com/a?b=c#d');
    expect(safeLocation('HTTP://Example.COM')).toBe('http://example.com/');
  });

  it('never lets a line break or a control character through', () => {
    const location = safeLocation('https://example.com/a\r\nSet-Cookie: x=1\u0000\u0007\r\n/b');
    expect(location).not.toBeNull();
    expect(location).toMatch(/^[\x21-\x7e]+$/);
    expect(location).toBe('https://example.com/aSet-Cookie:%20x=1%00%07/b');
  });

  it('percent-encodes spaces and non-ASCII, and punycodes the host', () => {
    expect(safeLocation('https://bücher.example/straße?q=a b&r=ü#ä')).toBe('https://xn--bcher-kva.example/stra%C3%9Fe?q=a%20b&r=%C3%BC#%C3%A4');
  });

  it('refuses everything that is not an absolute http(s) URL', () => {
    for (const url of [
      'javascript:alert(1)',
      ' JavaScript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      '//evil.example/x',
      '/relative',
      'relative/path',
      'ftp://example.com/',
      'file:///etc/passwd',
      'vbscript:x',
      'http://',
      '',
      undefined,
    ]) {
      expect(safeLocation(url), String(url)).toBeNull();
    }
  });
});

describe('the pixel', () => {
  it('is a 43-byte GIF89a', () => {
    expect(TRANSPARENT_GIF.length).toBe(43);
    expect(TRANSPARENT_GIF.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect(TRANSPARENT_GIF.readUInt16LE(6)).toBe(1); // width
    expect(TRANSPARENT_GIF.readUInt16LE(8)).toBe(1); // height
    expect(TRANSPARENT_GIF[TRANSPARENT_GIF.length - 1]).toBe(0x3b);
  });
});
