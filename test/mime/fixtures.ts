/** Builds test messages from parts whose content is encoded here, in the test. */
import iconv from 'iconv-lite';
import { encodeIso2022jp } from '../../src/mime/iso2022jp.js';
import { encodeQuotedPrintable } from '../../src/mime/transfer.js';
import type { HeaderField } from '../../src/mime/index.js';

export type Eol = '\r\n' | '\n';
export type Cte = '7bit' | '8bit' | 'quoted-printable' | 'base64';

export interface CharsetFixture {
  name: string;
  sample: string;
  encode(text: string): Buffer;
  lineBreaksAreText: boolean;
  /** Start of the decoded text (a BOM is decoded as U+FEFF and kept). */
  textPrefix?: string;
}

export const CHARSETS: CharsetFixture[] = [
  { name: 'utf-8', sample: 'Grüße, 日本 €', encode: (t) => iconv.encode(t, 'utf8'), lineBreaksAreText: true },
  { name: 'iso-8859-1', sample: 'Grüße, café', encode: (t) => iconv.encode(t, 'latin1'), lineBreaksAreText: true },
  { name: 'windows-1252', sample: 'Grüße, “café” €', encode: (t) => iconv.encode(t, 'windows-1252'), lineBreaksAreText: true },
  { name: 'iso-2022-jp', sample: '日本語のメールです', encode: (t) => encodeIso2022jp(t)!, lineBreaksAreText: true },
  { name: 'shift_jis', sample: '日本語のメールです', encode: (t) => iconv.encode(t, 'shift_jis'), lineBreaksAreText: true },
  // With a BOM, little-endian: the form Windows mailers write.
  { name: 'utf-16', sample: 'Grüße, 日本', encode: (t) => iconv.encode(t, 'utf-16le'), lineBreaksAreText: false, textPrefix: '\ufeff' },
];

export const CTES: Cte[] = ['7bit', '8bit', 'quoted-printable', 'base64'];

function base64Lines(data: Buffer, eol: Eol): Buffer {
  return Buffer.from(data.toString('base64').replace(/.{76}(?=.)/g, `$&${eol}`), 'latin1');
}

export function encodeContent(data: Buffer, cte: Cte, eol: Eol, lineBreaksAreText: boolean): Buffer {
  if (cte === 'base64') return base64Lines(data, eol);
  if (cte === 'quoted-printable') return encodeQuotedPrintable(data, eol, lineBreaksAreText);
  return data;
}

export interface PartSpec {
  headers: string[];
  content: Buffer;
}

/** The decoded text of a text or html fixture part, with the charset's sample in it. */
export function sampleText(kind: 'text' | 'html', charset: CharsetFixture, eol: Eol): string {
  const { sample, textPrefix = '' } = charset;
  return kind === 'html'
    ? `${textPrefix}<html><body><p>${sample}</p>${eol}<a href="http://example.com/a?b=1&amp;c=2">link</a>${eol}</body></html>`
    : `${textPrefix}Hello ${sample}${eol}Visit http://example.com/a?b=1 now.${eol}`;
}

export function textPart(kind: 'text' | 'html', charset: CharsetFixture, cte: Cte, eol: Eol): PartSpec {
  const data = charset.encode(sampleText(kind, charset, eol));
  return {
    headers: [`Content-Type: text/${kind === 'html' ? 'html' : 'plain'}; charset="${charset.name}"`, `Content-Transfer-Encoding: ${cte}`],
    content: encodeContent(data, cte, eol, charset.lineBreaksAreText),
  };
}

/** A multipart body: preamble, the parts, close delimiter, epilogue. */
export function multipartBody(boundary: string, parts: PartSpec[], eol: Eol, opts: { preamble?: string; epilogue?: string; close?: boolean } = {}): Buffer {
  const chunks: Buffer[] = [];
  const add = (s: string) => chunks.push(Buffer.from(s, 'latin1'));
  add(`${opts.preamble ?? 'This is a multi-part message in MIME format.'}${eol}`);
  for (const part of parts) {
    add(`--${boundary}${eol}${part.headers.map((h) => h + eol).join('')}${eol}`);
    chunks.push(part.content);
    add(eol);
  }
  if (opts.close !== false) add(`--${boundary}--${eol}${opts.epilogue ?? ''}`);
  return Buffer.concat(chunks);
}

export function multipartHeaders(type: string, boundary: string): HeaderField[] {
  return [
    { name: 'MIME-Version', value: ' 1.0' },
    { name: 'Content-Type', value: ` ${type};\r\n\tboundary="${boundary}"` },
  ];
}
