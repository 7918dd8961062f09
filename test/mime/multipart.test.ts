import { describe, expect, it } from 'vitest';
import { splitMultipart } from '../../src/mime/multipart.js';

function split(text: string, boundary = 'XX') {
  const buf = Buffer.from(text, 'latin1');
  const layout = splitMultipart(buf, 0, buf.length, boundary);
  if (!layout) return null;
  const str = (r: { start: number; end: number }) => text.slice(r.start, r.end);
  return { parts: layout.parts.map(str), preamble: str(layout.preamble), epilogue: str(layout.epilogue), closed: layout.closed };
}

describe('splitMultipart', () => {
  it('separates preamble, parts and epilogue; the CRLF before a delimiter belongs to it', () => {
    expect(split('pre\r\n--XX\r\nA\r\n--XX\r\n\r\nB\r\n\r\n--XX--\r\nepi\r\n')).toEqual({
      parts: ['A', '\r\nB\r\n'],
      preamble: 'pre',
      epilogue: 'epi\r\n',
      closed: true,
    });
  });
  it('accepts a first delimiter at the very start and LF-only line ends', () => {
    expect(split('--XX\nA\n--XX\nB\n--XX--')).toEqual({ parts: ['A', 'B'], preamble: '', epilogue: '', closed: true });
  });
  it('allows transport padding (blanks) after a boundary', () => {
    expect(split('--XX \t\r\nA\r\n--XX  \r\nB\r\n--XX-- \r\n')?.parts).toEqual(['A', 'B']);
  });
  it('does not take a longer boundary or mid-line text for a delimiter', () => {
    expect(split('--XX\r\nA --XX\r\n--XXY\r\nstill A\r\n--XX--\r\n')?.parts).toEqual(['A --XX\r\n--XXY\r\nstill A']);
  });
  it('lets the last part run to the end when the close delimiter is missing', () => {
    expect(split('--XX\r\nA\r\n--XX\r\nB\r\n')).toEqual({ parts: ['A', 'B\r\n'], preamble: '', epilogue: '', closed: false });
  });
  it('handles an empty part', () => {
    expect(split('--XX\r\n--XX\r\nB\r\n--XX--')?.parts).toEqual(['', 'B']);
  });
  it('returns null when no delimiter line exists', () => {
    expect(split('just text\r\n--XXX\r\n')).toBeNull();
  });
});
