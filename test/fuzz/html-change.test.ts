/** The mime fuzz target's html comparison (fuzz/html-change.ts): it passes what the rewriter may do and catches anything else. */
import { describe, expect, it } from 'vitest';
import { htmlChange } from '../../fuzz/html-change.js';

const PIXEL = '<img src="https://trk.example.net/o/PIXEL" width="1">';

describe('htmlChange', () => {
  it.each([
    ['nothing changed', '<p>a</p><a href="https://x.example/">b</a>', '<p>a</p><a href="https://x.example/">b</a>', null],
    ['a link href, quoted otherwise', '<a href=https://x.example/?a=1&amp;b=2>b</a>', '<a href="https://x.example/?a=1&amp;b=2">b</a>', null],
    [
      'markers gone from link elements',
      '<a href="x" data-notrack data-msys-linkname=3D"b">b</a><area data-msys-clicktrack="0" href="y">',
      '<a href="x">b</a><area href="y">',
      null,
    ],
    ['the pixel in place of <opentag>', '<p>a</p> <opentag/> <p>b</p>', `<p>a</p> ${PIXEL} <p>b</p>`, PIXEL],
    ['the pixel in place of an <opentag> tag holding junk', '<opentag/\0x\n<area href="y"> z', `${PIXEL} z`, PIXEL],
    ['the pixel before </body>', '<body>a</body>', `<body>a${PIXEL}</body>`, PIXEL],
    ['the pixel appended to a document cut off in a tag', '<p>a</p><a href="x', `<p>a</p><a href="x${PIXEL}`, PIXEL],
    [
      'a link inside a conditional comment',
      '<!--[if mso]><v:roundrect href="https://x.example/" data-notrack></v:roundrect><![endif]-->',
      '<!--[if mso]><v:roundrect href="https://x.example/"></v:roundrect><![endif]-->',
      null,
    ],
  ])('passes %s', (_name, before, after, pixel) => {
    expect(htmlChange(before, after, pixel)).toBeNull();
  });

  it.each([
    ['text changed', '<p>a</p>', '<p>b</p>', null, /different text/],
    ['a marker gone from what is no link element', '<p data-notrack>a</p>', '<p>a</p>', null, /attribute data-notrack removed/],
    ['a marker gone from a tag named a\\uFFFDhref', '<a\0href="x" data-msys-linkname="b">b</a>', '<a\0href="x">b</a>', null, /removed/],
    ['an attribute added to a link', '<a href="x">b</a>', '<a href="x" ==""=>b</a>', null, /attribute = added/],
    ['the href of what is no link element', '<link href="https://x.example/">', '<link href="https://y.example/">', null, /value of href changed/],
    ['the pixel in place of another tag', '<p>a</p><b>c</b>', `<p>a</p>${PIXEL}c</b>`, PIXEL, /not an <opentag> tag/],
    [
      'a conditional comment changed beyond its links',
      '<!--[if mso]><p>a</p><![endif]-->',
      '<!--[if mso]><p>b</p><![endif]-->',
      null,
      /in a conditional comment, token \d+: text "a" became text "b"/,
    ],
    ['a tag gone', '<p>a</p><br>', '<p>a</p>', null, /a different token/],
  ])('catches %s', (_name, before, after, pixel, problem) => {
    expect(htmlChange(before, after, pixel)).toMatch(problem);
  });
});
