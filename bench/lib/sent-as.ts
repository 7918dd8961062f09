/**
 * A bench newsletter's quoted-printable parts sent another way, the same text: in base64 (as many
 * senders' HTML is: 76-column lines, CRLF), or in windows-1252 (as Microsoft's mailers label Western
 * text), so that a pass differs from its quoted-printable UTF-8 twin by that alone.
 */
import iconv from 'iconv-lite';
import { decodeQuotedPrintable, encodeQuotedPrintable } from '../../src/mime/transfer.js';

export const SENT_AS = ['quoted-printable', 'base64', 'windows-1252'] as const;
export type SentAs = (typeof SENT_AS)[number];

// A leaf part's header block naming quoted-printable, then its content up to the next boundary line.
const QP_PART = /Content-Transfer-Encoding: quoted-printable\r\n((?:[^\r\n]+\r\n)*)\r\n([\s\S]*?)(?=\r\n--)/gi;
const UTF8_LABEL = /^(Content-Type: text\/[a-z]+;\s*charset=)"?utf-8"?/gim;

/** The message with each quoted-printable part's content rewritten by `rewrite` (decoded bytes in, header and content out). */
function rewriteQpParts(message: Buffer, rewrite: (data: Buffer) => { cte: string; content: string }): string {
  let parts = 0;
  const text = message.toString('latin1').replace(QP_PART, (_part, otherHeaders: string, content: string) => {
    parts++;
    const out = rewrite(decodeQuotedPrintable(Buffer.from(content, 'latin1')));
    return `Content-Transfer-Encoding: ${out.cte}\r\n${otherHeaders}\r\n${out.content}`;
  });
  if (parts === 0) throw new Error('no quoted-printable part to send another way');
  return text;
}

export function asBase64(message: Buffer): Buffer {
  const text = rewriteQpParts(message, (data) => ({ cte: 'base64', content: (data.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n') }));
  return Buffer.from(text, 'latin1');
}

export function asWindows1252(message: Buffer): Buffer {
  const text = rewriteQpParts(message, (data) => {
    const bytes = iconv.encode(data.toString('utf8'), 'windows1252');
    return { cte: 'quoted-printable', content: encodeQuotedPrintable(bytes, '\r\n', true).toString('latin1') };
  });
  if (text.search(UTF8_LABEL) === -1) throw new Error('no part labelled utf-8 to label windows-1252');
  return Buffer.from(text.replace(UTF8_LABEL, '$1"windows-1252"'), 'latin1');
}

export function sentAs(kind: SentAs): (message: Buffer) => Buffer {
  return kind === 'base64' ? asBase64 : kind === 'windows-1252' ? asWindows1252 : (message) => message;
}
