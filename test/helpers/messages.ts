/**
 * Test messages for the end-to-end suites: distinct, reproducible (seeded), plain text without
 * links (so link rewriting and the open pixel leave their bodies alone), with the awkward lines
 * that SMTP and milter transports must carry: lines starting with ".", a line holding only ".",
 * empty lines, trailing spaces, tabs, long lines near the 998-octet limit.
 */
import type { OutgoingMessage } from './smtp.js';

export const TEST_SENDER = 'sender@example.com';
export const TEST_DOMAIN = 'example.net';

/** Small deterministic PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'lorem',
  'ipsum',
  'dolor',
  'sit',
  'amet',
  'consectetur',
  'adipiscing',
  'elit',
  'sed',
  'do',
  'eiusmod',
  'tempor',
  'incididunt',
  'ut',
  'labore',
  'et',
  'dolore',
  'magna',
  'aliqua',
  'milter',
  'chunk',
  'postfix',
];

const EIGHT_BIT_LINES = [
  'café déjà vu, naïve façade',
  'Grüße aus Köln: Äpfel, Öl, Übermaß',
  '日本語のテキスト、絵文字 ✉️ 🚀',
  'ÿ þ ð æ ø å — “quotes” ‘single’ …',
];

/** One body line (without line end), never containing "://" so it is never seen as a link. */
function bodyLine(random: () => number, eightBit: boolean): string {
  const kind = random();
  if (eightBit && kind > 0.9) return EIGHT_BIT_LINES[Math.floor(random() * EIGHT_BIT_LINES.length)]!;
  if (kind < 0.04) return '.';
  if (kind < 0.1) return `.${WORDS[Math.floor(random() * WORDS.length)]} starts with a dot`;
  if (kind < 0.13) return '..two dots';
  if (kind < 0.18) return '';
  if (kind < 0.2) return `trailing spaces   `;
  if (kind < 0.22) return `\tindented\twith tabs`;
  if (kind < 0.23) return 'x'.repeat(900 + Math.floor(random() * 90));
  const words: string[] = [];
  const count = 3 + Math.floor(random() * 14);
  for (let i = 0; i < count; i++) words.push(WORDS[Math.floor(random() * WORDS.length)]!);
  return words.join(' ');
}

/** The n-th link of a linked test body: distinct per seed, with a query string. */
export function testLink(seed: number, n: number): string {
  return `https://www.example.com/e2e/${seed}/article-${n}?utm_source=e2e&n=${n}`;
}

/**
 * A plain-text body like makeTextBody with `linkCount` lines "Read more: <link>" spread through it
 * (the first and the last line among them): trackmilter rewrites these links, so it must replace the
 * body. Returns the links in body order, to put them back when comparing (see restoreTrackedLinks).
 */
export function makeLinkedTextBody(
  approximateBytes: number,
  seed: number,
  linkCount: number,
  options: { eightBit?: boolean } = {},
): { body: string; links: string[] } {
  const filler = makeTextBody(approximateBytes, seed, options).split('\n');
  filler.pop(); // the empty string after the final line end
  const links = Array.from({ length: linkCount }, (_, n) => testLink(seed, n));
  const lines: string[] = [];
  const every = Math.max(1, Math.floor(filler.length / Math.max(1, linkCount - 1)));
  let next = 0;
  for (let i = 0; i < filler.length; i++) {
    if (next < linkCount - 1 && i % every === 0) lines.push(`Read more: ${links[next++]}`);
    lines.push(filler[i]!);
  }
  while (next < linkCount) lines.push(`Read more: ${links[next++]}`);
  return { body: lines.join('\n') + '\n', links };
}

/**
 * A plain-text body of about `approximateBytes` bytes (LF line ends), ending with a line end;
 * with `eightBit`, about one line in ten is UTF-8 text (send it as 8bit).
 */
export function makeTextBody(approximateBytes: number, seed: number, options: { eightBit?: boolean } = {}): string {
  const random = seededRandom(seed);
  const lines: string[] = [];
  let size = 0;
  while (size < approximateBytes) {
    const line = bodyLine(random, options.eightBit ?? false);
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join('\n') + '\n';
}

export interface TestMessageOptions {
  /** Unique id carried in the X-Test-Id header and the recipient address. */
  id: string;
  body: string | Buffer;
  /** Extra header lines (LF-folded where folded), placed before X-Test-Id. */
  extraHeaders?: string[];
  /** Content-Type value; text/plain (us-ascii, or utf-8 for 8-bit bodies) by default. */
  contentType?: string;
  /** Carried in X-Test-Attempt, so a test can tell which send of a message was delivered. */
  attempt?: number;
  recipients?: string[];
}

/** A complete message (headers + body, LF line ends) with its envelope. */
export function makeTestMessage(options: TestMessageOptions): OutgoingMessage {
  const recipients = options.recipients ?? [`rcpt-${options.id}@${TEST_DOMAIN}`];
  const body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;
  const eightBit = body.some((byte) => byte > 0x7f);
  const headers = [
    `From: Sender <${TEST_SENDER}>`,
    `To: ${recipients.join(', ')}`,
    `Subject: e2e message ${options.id}`,
    `Date: ${new Date(Date.UTC(2025, 0, 1)).toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${options.id}@e2e.example.com>`,
    ...(options.extraHeaders ?? []),
    'MIME-Version: 1.0',
    `Content-Type: ${options.contentType ?? `text/plain; charset=${eightBit ? 'utf-8' : 'us-ascii'}`}`,
    `Content-Transfer-Encoding: ${eightBit ? '8bit' : '7bit'}`,
    `X-Test-Id: ${options.id}`,
    `X-Test-Attempt: ${options.attempt ?? 1}`,
  ].join('\n');
  return { envelope: { from: TEST_SENDER, to: recipients }, data: Buffer.concat([Buffer.from(`${headers}\n\n`), body]) };
}

/**
 * A body whose bytes, as Postfix hands them to a milter (CRLF line ends), put a CRLF across the
 * boundary of two 65535-byte BODY chunks: Postfix fills each chunk to exactly 65535 bytes, so the
 * CR is the last byte of chunk `boundary` and the LF the first of the next one. `shift` moves the
 * CRLF relative to that boundary (0: split CR|LF; -1: the CRLF ends the chunk exactly; +1: the
 * chunk ends right before the CR). Returned with LF line ends, as a sender would write it.
 */
export function makeChunkBoundaryBody(
  options: { boundary?: number; shift?: number; chunkSize?: number; lineLength?: number; totalBytes?: number; firstLines?: string[] } = {},
): string {
  const chunkSize = options.chunkSize ?? 65535;
  const boundary = options.boundary ?? 1;
  const shift = options.shift ?? 0;
  const lineLength = options.lineLength ?? 76; // characters before CRLF
  // Offset (in the CRLF form) of the CR we want placed: the last byte of chunk `boundary`, plus shift.
  const crOffset = chunkSize * boundary - 1 + shift;
  // Lines to start with (e.g. a link, so that the milter must replace the body), counted in.
  const lines: string[] = [...(options.firstLines ?? [])];
  let offset = lines.reduce((sum, line) => sum + Buffer.byteLength(line) + 2, 0); // CRLF-form size so far
  let n = 0;
  while (offset + lineLength + 2 <= crOffset) {
    const label = `line ${String(n++).padStart(6, '0')} `;
    lines.push((label + 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(3)).slice(0, lineLength));
    offset += lineLength + 2;
  }
  // One shorter line whose CR lands exactly on crOffset.
  const remaining = crOffset - offset;
  lines.push('z'.repeat(remaining));
  offset += remaining + 2;
  const total = options.totalBytes ?? chunkSize * (boundary + 1) + 1000;
  while (offset < total) {
    const line = `.after the boundary ${n++} `.padEnd(lineLength, '-');
    lines.push(line);
    offset += line.length + 2;
  }
  return lines.join('\n') + '\n';
}

/**
 * Header lines a milter must carry through untouched: a long folded field, a raw UTF-8 value, a
 * tab-folded field, an empty value, and many fields (each one HEADER packet from Postfix).
 */
export function awkwardHeaders(count = 300): string[] {
  const references = Array.from({ length: 60 }, (_, i) => `<ref-${i}.${'x'.repeat(20)}@lists.example.com>`).join('\n ');
  return [
    `References: ${references}`,
    'X-Raw-Utf8: Grüße, café, 日本語',
    'X-Tab-Folded: first part\n\tsecond part after a tab',
    'X-Empty:',
    'X-Spaces:    several leading spaces',
    ...Array.from({ length: count }, (_, i) => `X-Filler-${i}: value ${i}`),
  ];
}
