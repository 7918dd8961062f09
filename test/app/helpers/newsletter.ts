// A newsletter as a GreenArrow sender injects it, written here from lists of links so that the test
// knows every original URL and its place without asking the daemon; and the independent reading of
// what comes back (MIME parts split, quoted-printable decoded, tracking links picked out in order).
import type { HeaderField } from '../../../src/milter/commands.js';
import type { LinkStyle } from '../../../src/tokens/url-style.js';

export const SEND = {
  mailClass: 'a',
  instanceId: '100525',
  sendId: 'a100525',
  listId: 'list-2931',
  emailCode: 'ec-5f0c71',
  sender: 'news@shop.example',
  recipient: 'reader@mail.example',
} as const;

/** A browser's user agent: clicks from it are not flagged as automated. */
export const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

export interface HtmlAnchor {
  /** The URL as the sender means it (the attribute value after entity decoding). */
  href: string;
  /** data-msys-linkname */
  linkName?: string;
  /** Whether trackmilter must rewrite it (absolute http/https, not opted out). */
  tracked: boolean;
}

export interface NewsletterSpec {
  anchors: HtmlAnchor[];
  /** URLs in the plain-text part, each on its own line, all tracked. */
  textUrls: string[];
}

export interface Newsletter {
  headers: HeaderField[];
  body: Buffer;
  spec: NewsletterSpec;
}

const BOUNDARY = '=_alt_7c1e9b4a';

/** A realistic default: repeated URLs, per-subscriber query strings, link names, links left alone. */
export function defaultNewsletterSpec(): NewsletterSpec {
  return {
    anchors: [
      { href: 'https://shop.example/', tracked: true, linkName: 'logo' },
      { href: 'https://shop.example/articles/2026/autumn-collection?utm_source=newsletter&utm_medium=email&utm_campaign=a100525', tracked: true },
      { href: 'https://blog.shop.example/posts/how-we-source-wool', tracked: true, linkName: 'story' },
      { href: 'https://shop.example/p/merino-sweater?sku=MS-42&color=forest%20green&ref=nl', tracked: true },
      { href: 'mailto:help@shop.example?subject=Question', tracked: false },
      { href: 'https://shop.example/articles/2026/autumn-collection?utm_source=newsletter&utm_medium=email&utm_campaign=a100525&pos=2', tracked: true },
      { href: '#top', tracked: false },
      { href: 'https://shop.example/account/preferences?e=reader%40mail.example&list=list-2931', tracked: true, linkName: 'prefs' },
      { href: 'tel:+15555550100', tracked: false },
      { href: 'https://shop.example/', tracked: true },
    ],
    textUrls: [
      'https://shop.example/articles/2026/autumn-collection?utm_source=newsletter&utm_medium=email',
      'https://blog.shop.example/posts/how-we-source-wool',
      'https://shop.example/p/merino-sweater?sku=MS-42&ref=nl-text',
      'https://shop.example/account/preferences?e=reader%40mail.example&list=list-2931',
    ],
  };
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
}

export function htmlOf(spec: NewsletterSpec): string {
  const items = spec.anchors.map((a, i) => {
    const name = a.linkName === undefined ? '' : ` data-msys-linkname="${a.linkName}"`;
    return `<tr><td style="padding:8px 24px;font-family:Georgia,serif;font-size:16px;line-height:1.5">Article ${i + 1} – Grüße from the workshop: <a href="${escapeAttribute(a.href)}"${name} style="color:#1a5c3a;text-decoration:underline">read the whole story about our autumn collection</a></td></tr>`;
  });
  return [
    '<!DOCTYPE html>',
    '<html><head><meta charset="utf-8"><title>Autumn at the shop</title></head>',
    '<body style="margin:0;background:#f4f1ea">',
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">',
    ...items,
    '</table>',
    '<p style="font-size:12px;color:#777">You receive this because you subscribed at shop.example. 100% wool, 0% spam.</p>',
    '</body></html>',
  ].join('\n');
}

export function textOf(spec: NewsletterSpec): string {
  const lines = ['Autumn at the shop', '==================', ''];
  spec.textUrls.forEach((url, i) => lines.push(`Story ${i + 1} (Grüße!): ${url}`, ''));
  lines.push('You receive this because you subscribed at shop.example.');
  return lines.join('\n');
}

/** Quoted-printable (RFC 2045) of UTF-8 text, CRLF lines of at most 76 characters. */
export function encodeQuotedPrintable(text: string): string {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const bytes = Buffer.from(line, 'utf8');
    const pieces: string[] = [];
    bytes.forEach((b, i) => {
      const literal = (b >= 0x21 && b <= 0x7e && b !== 0x3d) || ((b === 0x20 || b === 0x09) && i < bytes.length - 1);
      pieces.push(literal ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`);
    });
    let current = '';
    for (const piece of pieces) {
      if (current.length + piece.length > 75) {
        out.push(`${current}=`);
        current = '';
      }
      current += piece;
    }
    out.push(current);
  }
  return out.join('\r\n');
}

/** Quoted-printable back to bytes: soft line breaks removed, =XX decoded. */
export function decodeQuotedPrintable(text: string): Buffer {
  const joined = text.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(joined.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

export function buildNewsletter(spec: NewsletterSpec = defaultNewsletterSpec()): Newsletter {
  const headers: HeaderField[] = [
    { name: 'From', value: `Shop Example <${SEND.sender}>` },
    { name: 'To', value: `<${SEND.recipient}>` },
    { name: 'Subject', value: 'Autumn at the shop' },
    { name: 'Date', value: 'Mon, 12 Oct 2026 09:00:00 +0000' },
    { name: 'Message-ID', value: '<nl-a100525-1@shop.example>' },
    { name: 'MIME-Version', value: '1.0' },
    { name: 'Content-Type', value: `multipart/alternative; boundary="${BOUNDARY}"` },
    { name: 'X-GreenArrow-MailClass', value: SEND.mailClass },
    { name: 'X-GreenArrow-InstanceID', value: SEND.instanceId },
    { name: 'X-GreenArrow-ListID', value: SEND.listId },
    { name: 'X-GreenArrow-Click-Tracking-ID', value: SEND.emailCode },
  ];
  const body = [
    'This is a multi-part message in MIME format.',
    `--${BOUNDARY}`,
    'Content-Type: text/plain; charset="utf-8"',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    encodeQuotedPrintable(textOf(spec)),
    `--${BOUNDARY}`,
    'Content-Type: text/html; charset="utf-8"',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    encodeQuotedPrintable(htmlOf(spec)),
    `--${BOUNDARY}--`,
    '',
  ].join('\r\n');
  return { headers, body: Buffer.from(body, 'latin1'), spec };
}

/** The message as an MTA takes it in (SMTP DATA, sendmail, smtp-source): its header fields, a blank line, its body; CRLF throughout. */
export function messageData(message: Pick<Newsletter, 'headers' | 'body'>): Buffer {
  const head = message.headers.map((h) => `${h.name}: ${h.value}\r\n`).join('');
  return Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), message.body]);
}

export interface MimePart {
  contentType: string;
  transferEncoding: string;
  /** The part's body as sent (still transfer-encoded). */
  raw: string;
  /** The body decoded to text. */
  text: string;
}

/** The leaf parts of a one-level multipart body, decoded by their own headers. */
export function splitMultipart(body: Buffer, boundary = BOUNDARY): MimePart[] {
  const text = body.toString('latin1');
  const delimiter = `\r\n--${boundary}`;
  const sections = `\r\n${text}`.split(delimiter).slice(1);
  const parts: MimePart[] = [];
  for (const section of sections) {
    if (section.startsWith('--')) break;
    const start = section.indexOf('\r\n') + 2;
    const headEnd = section.indexOf('\r\n\r\n', start - 2);
    const head = section.slice(start, headEnd).replace(/\r\n[ \t]+/g, ' ');
    const raw = section.slice(headEnd + 4);
    const header = (name: string): string => new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(head)?.[1]?.trim() ?? '';
    const transferEncoding = header('Content-Transfer-Encoding').toLowerCase();
    const bytes = transferEncoding === 'quoted-printable' ? decodeQuotedPrintable(raw) : Buffer.from(raw, 'latin1');
    parts.push({ contentType: header('Content-Type'), transferEncoding, raw, text: bytes.toString('utf8') });
  }
  return parts;
}

function decodeEntities(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#([0-9]+);/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&amp;/g, '&');
}

/** Every href of the HTML, entity-decoded, in document order. */
export function hrefsOf(html: string): string[] {
  return [...html.matchAll(/<(?:a|area)\b[^>]*?\shref\s*=\s*(?:"([^"]*)"|'([^']*)')/gi)].map((m) => decodeEntities(m[1] ?? m[2] ?? ''));
}

/** The src of every img, entity-decoded. */
export function imageSourcesOf(html: string): string[] {
  return [...html.matchAll(/<img\b[^>]*?\ssrc\s*=\s*"([^"]*)"/gi)].map((m) => decodeEntities(m[1] ?? ''));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Click links of ours in plain text, in order: BASE/c/TOKEN (compact) or BASE/original/path-TOKEN
 * (path-preserving), with the query they may carry.
 */
export function textClickLinks(text: string, base: string, style: LinkStyle = 'compact'): string[] {
  const path = style === 'compact' ? '/c/[A-Za-z0-9_~]+' : '/[^\\s<>"?]*-[A-Za-z0-9_~]+';
  return [...text.matchAll(new RegExp(`${escapeRegExp(base)}${path}(?:\\?[^\\s<>"]*)?`, 'g'))].map((m) => m[0]);
}

export interface RewrittenNewsletter {
  parts: MimePart[];
  html: MimePart;
  text: MimePart;
  /** Click links of the HTML part in document order. */
  htmlClicks: string[];
  /** Click links of the text part in order. */
  textClicks: string[];
  /** Open pixels (img src on /o/). */
  pixels: string[];
}

export function readRewritten(body: Buffer, base: string, style: LinkStyle = 'compact'): RewrittenNewsletter {
  const parts = splitMultipart(body);
  const html = parts.find((p) => p.contentType.startsWith('text/html'));
  const text = parts.find((p) => p.contentType.startsWith('text/plain'));
  if (!html || !text) throw new Error(`rewritten body lacks its html or text part: ${parts.map((p) => p.contentType).join(', ')}`);
  return {
    parts,
    html,
    text,
    htmlClicks: hrefsOf(html.text).filter((h) => h.startsWith(style === 'compact' ? `${base}/c/` : `${base}/`)),
    textClicks: textClickLinks(text.text, base, style),
    pixels: imageSourcesOf(html.text).filter((s) => s.startsWith(`${base}/o/`)),
  };
}

/** What each click link must redirect to, by order in its part: [link, original URL, part, position]. */
export interface ExpectedClick {
  link: string;
  original: string;
  part: 'h' | 't';
  /** 1-based ordinal among the tracked links of the part. */
  position: number;
  linkName: string;
}

export function pairClicks(rewritten: RewrittenNewsletter, spec: NewsletterSpec): ExpectedClick[] {
  const trackedAnchors = spec.anchors.filter((a) => a.tracked);
  if (rewritten.htmlClicks.length !== trackedAnchors.length || rewritten.textClicks.length !== spec.textUrls.length) {
    throw new Error(
      `expected ${trackedAnchors.length} html and ${spec.textUrls.length} text links rewritten, found ${rewritten.htmlClicks.length} and ${rewritten.textClicks.length}`,
    );
  }
  return [
    ...rewritten.htmlClicks.map((link, i) => ({
      link,
      original: trackedAnchors[i]!.href,
      part: 'h' as const,
      position: i + 1,
      linkName: trackedAnchors[i]!.linkName ?? '',
    })),
    ...rewritten.textClicks.map((link, i) => ({ link, original: spec.textUrls[i]!, part: 't' as const, position: i + 1, linkName: '' })),
  ];
}
