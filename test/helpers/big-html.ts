// A large HTML message (a catalogue, a digest): megabytes of markup with a link every so often, the
// kind whose rewriting takes the milter a second or more of CPU. Used by the worker-pool tests, the
// mixed benchmark and the mixed stress scenario.
import type { HeaderField } from '../../src/milter/commands.js';

/** GreenArrow control headers, so the message is tracked whatever `tracking.untagged` says. */
export const BIG_HTML_CONTROL_HEADERS = ['X-GreenArrow-MailClass: cat', 'X-GreenArrow-InstanceID: 7001', 'X-GreenArrow-ListID: catalogue'];

/** An HTML document of about `bytes` bytes (ASCII, LF line ends, lines under 100 bytes) with `links` links. */
export function bigHtmlBody(bytes: number, links: number): string {
  const filler = '<td style="padding:4px;font-family:Arial,sans-serif;font-size:13px;color:#333">Item text, price and stock</td>';
  const lines: string[] = ['<!DOCTYPE html>', '<html><head><meta charset="us-ascii"><title>Catalogue</title></head><body>', '<table>'];
  let size = lines.join('\n').length;
  const every = Math.max(1, Math.floor(bytes / filler.length / Math.max(1, links)));
  let row = 0;
  let made = 0;
  while (size < bytes) {
    const line =
      made < links && row % every === 0
        ? `<tr><td><a href="https://shop.example/catalogue/item-${made}?ref=cat&amp;row=${row}">Item ${made}</a></td></tr>`
        : filler;
    if (line !== filler) made += 1;
    lines.push(line);
    size += line.length + 1;
    row += 1;
  }
  lines.push('</table></body></html>', '');
  return lines.join('\n');
}

/** The same as a milter sees it: header fields and a CRLF body. */
export function bigHtmlMessage(bytes: number, links: number): { headers: HeaderField[]; body: Buffer } {
  const headers: HeaderField[] = [
    { name: 'From', value: 'Shop <shop@sender.example>' },
    { name: 'To', value: 'reader@example.net' },
    { name: 'Subject', value: 'Catalogue' },
    ...BIG_HTML_CONTROL_HEADERS.map((line) => ({ name: line.slice(0, line.indexOf(':')), value: line.slice(line.indexOf(':') + 2) })),
    { name: 'MIME-Version', value: '1.0' },
    { name: 'Content-Type', value: 'text/html; charset=us-ascii' },
    { name: 'Content-Transfer-Encoding', value: '7bit' },
  ];
  return { headers, body: Buffer.from(bigHtmlBody(bytes, links).replace(/\n/g, '\r\n'), 'latin1') };
}
