/** How an attribute value is delimited in the source: `"`, `'`, or nothing (unquoted). */
export type QuoteStyle = '"' | "'" | '';

// An unquoted value ends at whitespace or `>`, and quotes, `=`, `<` or a backtick in it are parse errors.
const NEEDS_QUOTES = /[\t\n\f\r "'=<>`]/;

/**
 * Encode a URL to be written as an attribute value in place of an existing one. The result replaces the
 * value between the quotes; an unquoted value that cannot stay unquoted comes back with double quotes.
 */
export function encodeAttrValue(url: string, quote: QuoteStyle): string {
  const amp = url.includes('&') ? url.replace(/&/g, '&amp;') : url;
  if (quote === '"') return amp.includes('"') ? amp.replace(/"/g, '&quot;') : amp;
  if (quote === "'") return amp.includes("'") ? amp.replace(/'/g, '&#39;') : amp;
  if (amp === '' || NEEDS_QUOTES.test(amp)) return `"${amp.replace(/"/g, '&quot;')}"`;
  return amp;
}

/** Cut a string to at most maxBytes of UTF-8 without splitting a character. */
export function truncateUtf8(value: string, maxBytes: number): string {
  if (Buffer.byteLength(value, 'utf8') <= maxBytes) return value;
  let bytes = 0;
  let end = 0;
  for (const char of value) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return value.slice(0, end);
}
