/**
 * A bench newsletter with its quoted-printable parts sent in base64 instead, as many senders' HTML
 * is: the same text, so the two passes differ by the transfer encoding alone. Written with Python's
 * email package line length (76) and CRLF, as an MTA would carry it.
 */
import { decodeQuotedPrintable } from '../../src/mime/transfer.js';

// A leaf part's header block naming quoted-printable, then its content up to the next boundary line.
const QP_PART = /Content-Transfer-Encoding: quoted-printable\r\n((?:[^\r\n]+\r\n)*)\r\n([\s\S]*?)(?=\r\n--)/gi;

export function asBase64(message: Buffer): Buffer {
  const text = message.toString('latin1');
  let parts = 0;
  const converted = text.replace(QP_PART, (_part, otherHeaders: string, content: string) => {
    parts++;
    const encoded = decodeQuotedPrintable(Buffer.from(content, 'latin1')).toString('base64');
    const lines = encoded.match(/.{1,76}/g) ?? [];
    return `Content-Transfer-Encoding: base64\r\n${otherHeaders}\r\n${lines.join('\r\n')}`;
  });
  if (parts === 0) throw new Error('no quoted-printable part to send in base64');
  return Buffer.from(converted, 'latin1');
}
