/**
 * ISO-2022-JP (RFC 1468), which iconv-lite lacks. It is 7-bit and stateful: escape sequences
 * switch between ASCII, JIS X 0201 Roman, JIS X 0208 (two bytes per character) and, as many
 * Japanese mailers emit it, JIS X 0201 half-width katakana. JIS X 0208 is EUC-JP with the high bit
 * cleared, so iconv-lite's EUC-JP tables do the character mapping.
 */
import iconv from 'iconv-lite';

type Mode = 'ascii' | 'roman' | 'kanji' | 'kana';

const ESC = 0x1b;
const ESCAPES: Record<string, Mode> = { '(B': 'ascii', '(J': 'roman', $B: 'kanji', '$@': 'kanji', '(I': 'kana' };
const SWITCH_TO: Record<Mode, string> = { ascii: '\x1b(B', roman: '\x1b(J', kanji: '\x1b$B', kana: '\x1b(I' };
/** The two JIS X 0201 Roman characters that differ from ASCII. */
const ROMAN_SPECIALS: Record<number, string> = { 0x5c: '\u00a5', 0x7e: '\u203e' };
const ROMAN_BYTES: Record<string, number> = { '\u00a5': 0x5c, '\u203e': 0x7e };

function decodeKanjiRun(bytes: number[]): string {
  return iconv.decode(Buffer.from(bytes.map((b) => b | 0x80)), 'eucjp');
}

/** Decodes ISO-2022-JP; null on an escape sequence it does not know or a broken double-byte run. */
export function decodeIso2022jp(data: Buffer): string | null {
  let mode: Mode = 'ascii';
  let out = '';
  let kanji: number[] = [];
  const flushKanji = (): boolean => {
    if (kanji.length % 2 !== 0) return false;
    out += decodeKanjiRun(kanji);
    kanji = [];
    return true;
  };
  for (let i = 0; i < data.length; i++) {
    const byte = data[i]!;
    if (byte === ESC) {
      const next = ESCAPES[data.toString('latin1', i + 1, i + 3)];
      if (!next || !flushKanji()) return null;
      mode = next;
      i += 2;
    } else if (byte >= 0x80) {
      return null;
    } else if (byte === 0x0a || byte === 0x0d) {
      // A line break ends any double-byte run (RFC 1468 wants ASCII there; some mailers do not switch).
      if (!flushKanji()) return null;
      out += String.fromCharCode(byte);
    } else if (mode === 'kanji') {
      kanji.push(byte);
    } else if (mode === 'kana') {
      out += iconv.decode(Buffer.from([0x8e, byte | 0x80]), 'eucjp');
    } else {
      out += (mode === 'roman' && ROMAN_SPECIALS[byte]) || String.fromCharCode(byte);
    }
  }
  return flushKanji() ? out : null;
}

interface Run {
  mode: Mode;
  bytes: number[];
}

/** Bytes (within its mode) for one character, or null when ISO-2022-JP cannot hold it. */
function encodeChar(ch: string): Run | null {
  const code = ch.codePointAt(0)!;
  if (code < 0x80) return { mode: 'ascii', bytes: [code] };
  const roman = ROMAN_BYTES[ch];
  if (roman !== undefined) return { mode: 'roman', bytes: [roman] };
  const euc = iconv.encode(ch, 'eucjp');
  if (euc.length === 2 && euc[0] === 0x8e) return { mode: 'kana', bytes: [euc[1]! & 0x7f] };
  if (euc.length === 2 && euc[0]! >= 0xa1 && euc[1]! >= 0xa1) return { mode: 'kanji', bytes: [euc[0]! & 0x7f, euc[1]! & 0x7f] };
  return null;
}

/**
 * Encodes text as ISO-2022-JP, switching back to ASCII before every line break and at the end
 * (RFC 1468). Null when a character has no ISO-2022-JP form.
 */
export function encodeIso2022jp(text: string): Buffer | null {
  let mode: Mode = 'ascii';
  const out: number[] = [];
  const switchTo = (next: Mode): void => {
    if (next === mode) return;
    for (const c of SWITCH_TO[next]) out.push(c.charCodeAt(0));
    mode = next;
  };
  for (const ch of text) {
    const isLineBreak = ch === '\n' || ch === '\r';
    const run = encodeChar(ch);
    if (!run) return null;
    switchTo(isLineBreak ? 'ascii' : run.mode);
    out.push(...run.bytes);
  }
  switchTo('ascii');
  return Buffer.from(out);
}
