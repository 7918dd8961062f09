// A message file as an MTA hands it to a milter: header fields, then the body, with CRLF line ends.
import type { HeaderField } from '../util/header-field.js';

/** Split a message file into header fields and body, the way an MTA hands them to a milter. */
export function splitMessage(raw: Buffer): { headers: HeaderField[]; body: Buffer } {
  const crlf = toCrlf(raw);
  const end = crlf.indexOf('\r\n\r\n');
  const headText = (end < 0 ? crlf : crlf.subarray(0, end)).toString('latin1');
  const body = end < 0 ? Buffer.alloc(0) : crlf.subarray(end + 4);
  const headers: HeaderField[] = [];
  for (const line of headText.split('\r\n')) {
    if (/^[ \t]/.test(line) && headers.length > 0) {
      headers[headers.length - 1]!.value += `\n${line}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers.push({ name: line.slice(0, colon), value: line.slice(colon + 1).replace(/^ /, '') });
  }
  return { headers, body };
}

/** Normalises every line end to CRLF, as the milter protocol carries bodies. */
export function toCrlf(raw: Buffer): Buffer {
  return Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}
