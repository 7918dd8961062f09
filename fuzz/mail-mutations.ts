/**
 * Mutations that know about MIME: boundaries, transfer encodings, charset labels, nesting, huge lines.
 * They work on the raw message (headers and body together, latin1 so every byte survives) and fall
 * back to a generic mutation when the message has nothing for them to work on.
 */
import { changeLineEnds, insertHugeLine, mutateBytes, mutateLines, type Mutated } from './mutate.js';
import type { Rng } from './random.js';

const latin1 = (data: Buffer): string => data.toString('latin1');
const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

export function boundariesOf(text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(/boundary\s*=\s*(?:"([^"\r\n]*)"|([^\s;"]+))/gi)) found.add(m[1] ?? m[2]!);
  return [...found].filter((b) => b.length > 0);
}

/** Changed, removed, duplicated, trailing-space, or prefix-sharing delimiter lines; or a changed parameter. */
export function damageBoundary(rng: Rng, data: Buffer): Mutated {
  const text = latin1(data);
  const boundaries = boundariesOf(text);
  if (boundaries.length === 0) return mutateBytes(rng, data);
  const b = rng.pick(boundaries);
  const delimiter = `--${b}`;
  const positions: number[] = [];
  for (let at = text.indexOf(delimiter); at !== -1; at = text.indexOf(delimiter, at + 1)) positions.push(at);
  const at = positions.length > 0 ? rng.pick(positions) : -1;
  const lineEnd = at === -1 ? -1 : text.indexOf('\n', at);
  const end = lineEnd === -1 ? text.length : lineEnd + 1;
  switch (rng.below(8)) {
    case 0:
      if (at === -1) break;
      return { data: bytes(text.slice(0, at) + text.slice(end)), label: `remove delimiter of ${b} @${at}` };
    case 1:
      if (at === -1) break;
      return { data: bytes(text.slice(0, end) + text.slice(at, end).repeat(1 + rng.skewed(5)) + text.slice(end)), label: `duplicate delimiter of ${b} @${at}` };
    case 2:
      if (at === -1) break;
      return {
        data: bytes(text.slice(0, at + delimiter.length) + rng.pick([' ', '  \t', '--', '-', 'x', '--  ']) + text.slice(at + delimiter.length)),
        label: `suffix delimiter of ${b} @${at}`,
      };
    case 3:
      if (at === -1) break;
      return { data: bytes(text.slice(0, at + 2) + text.slice(at + 2 + rng.below(b.length + 1))), label: `shorten delimiter of ${b} @${at}` };
    case 4:
      return { data: bytes(text.split(`${delimiter}--`).join(rng.pick([delimiter, '', `${delimiter}-`]))), label: `damage close delimiter of ${b}` };
    case 5: {
      const replacement = rng.pick(['', '"', 'x', `${b}x`, b.slice(0, -1), ' ', b.repeat(30), '--', `"${b}`]);
      return {
        data: bytes(text.replace(`boundary="${b}"`, `boundary="${replacement}"`).replace(`boundary=${b}`, `boundary=${replacement}`)),
        label: `boundary parameter ${b} -> ${JSON.stringify(replacement)}`,
      };
    }
    case 6:
      return {
        data: bytes(text.replace(/\r?\n\r?\n/, (sep) => `${sep}--${b}\r\nContent-Type: text/html\r\n\r\n<a href="https://early.example/">x</a>\r\n`)),
        label: `early part with ${b}`,
      };
    default:
      return {
        data: bytes(text.replace(/boundary\s*=/i, rng.pick(['boundary =', 'BOUNDARY=', 'boundary*=', 'boundary*0=', 'xboundary=']))),
        label: 'boundary parameter name',
      };
  }
  return mutateBytes(rng, data);
}

/** Invalid quoted-printable escapes, broken base64, unknown or wrong transfer-encoding names. */
export function damageEncoding(rng: Rng, data: Buffer): Mutated {
  const text = latin1(data);
  switch (rng.below(6)) {
    case 0: {
      const at = rng.below(text.length + 1);
      const junk = rng.pick(['=', '=Z', '=ZZ', '=\r\n', '=4', '= \r\n', '=3d', '=\n', '==', '=\u00ff\u00ff']);
      return { data: bytes(text.slice(0, at) + junk + text.slice(at)), label: `qp junk ${JSON.stringify(junk)} @${at}` };
    }
    case 1: {
      const at = rng.below(text.length + 1);
      const junk = rng.pick(['=', '==', '===', '!', '*', 'A', 'AB=CD', '\u00ff', '-_', ' ']);
      return { data: bytes(text.slice(0, at) + junk + text.slice(at)), label: `base64 junk ${JSON.stringify(junk)} @${at}` };
    }
    case 2: {
      const cte = rng.pick([
        'base64',
        'quoted-printable',
        '7bit',
        '8bit',
        'binary',
        'x-uuencode',
        'bogus',
        '',
        'BASE64',
        ' quoted-printable ;',
        'base64, 7bit',
      ]);
      const replaced = text.replace(/Content-Transfer-Encoding:[^\r\n]*/i, `Content-Transfer-Encoding: ${cte}`);
      return {
        data: bytes(replaced === text ? `Content-Transfer-Encoding: ${cte}\r\n${text}` : replaced),
        label: `transfer encoding -> ${JSON.stringify(cte)}`,
      };
    }
    case 3: {
      const all = text.replace(/Content-Transfer-Encoding:[^\r\n]*/gi, () => `Content-Transfer-Encoding: ${rng.pick(['base64', 'quoted-printable', '8bit'])}`);
      return { data: bytes(all), label: 'shuffle every transfer encoding' };
    }
    case 4: {
      // Cut a base64 or QP body mid-quantum by dropping a few characters somewhere after a blank line.
      const start = text.search(/\r?\n\r?\n/);
      if (start === -1) return mutateBytes(rng, data);
      const at = start + rng.below(text.length - start + 1);
      return { data: bytes(text.slice(0, at) + text.slice(at + 1 + rng.below(3))), label: `drop encoded chars @${at}` };
    }
    default:
      return changeLineEnds(rng, data);
  }
}

const CHARSETS = [
  'utf-8',
  'us-ascii',
  'iso-8859-1',
  'windows-1252',
  'utf-16',
  'utf-16le',
  'utf-16be',
  'utf-32',
  'utf-7',
  'iso-2022-jp',
  'shift_jis',
  'euc-kr',
  'ks_c_5601-1987',
  'gb2312',
  'big5',
  'koi8-r',
  'x-unknown',
  'unicode-1-1-utf-7',
  '',
  '"utf-8',
  'utf8',
  'binary',
  'default',
  'x-user-defined',
  'cp1252; format=flowed',
];

/** A different (wrong, unknown, wide) charset label on one Content-Type, or on every one. */
export function relabelCharset(rng: Rng, data: Buffer): Mutated {
  const text = latin1(data);
  const charset = rng.pick(CHARSETS);
  if (rng.chance(0.3)) {
    return { data: bytes(text.replace(/charset\s*=\s*("?)[^";\s]*\1/gi, () => `charset="${rng.pick(CHARSETS)}"`)), label: 'relabel every charset' };
  }
  const replaced = text.replace(/charset\s*=\s*("?)[^";\s]*\1/i, `charset=${charset}`);
  if (replaced !== text) return { data: bytes(replaced), label: `charset -> ${JSON.stringify(charset)}` };
  return {
    data: bytes(text.replace(/Content-Type:\s*text\/(html|plain)/i, (m) => `${m}; charset=${charset}`)),
    label: `add charset ${JSON.stringify(charset)}`,
  };
}

/** A message wrapped in `levels` multipart/mixed containers (deep nesting), each with its own boundary. */
export function nest(data: Buffer, levels: number): Buffer {
  const text = latin1(data);
  const split = /\r?\n\r?\n/.exec(text);
  const head = split ? text.slice(0, split.index) : text;
  const body = split ? text.slice(split.index + split[0].length) : '';
  const contentHeaders = head.split(/\r?\n(?![ \t])/).filter((l) => /^content-/i.test(l));
  const otherHeaders = head.split(/\r?\n(?![ \t])/).filter((l) => !/^content-/i.test(l) && l.length > 0);
  const open: string[] = [];
  const close: string[] = [];
  for (let i = 0; i < levels; i++) {
    const b = `n${i}`;
    open.push(i === 0 ? '' : `Content-Type: multipart/mixed; boundary="${b}"\r\n\r\n`);
    open.push(`--${b}\r\n`);
    close.unshift(`\r\n--${b}--\r\n`);
  }
  const inner = `${contentHeaders.join('\r\n')}\r\n\r\n${body}`;
  const rootHeaders = [...otherHeaders, 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="n0"'].join('\r\n');
  return bytes(`${rootHeaders}\r\n\r\n${open.join('')}${inner}${close.join('')}`);
}

/** One MIME-aware or generic mutation. */
export function mutateMail(rng: Rng, data: Buffer): Mutated {
  const r = rng.below(100);
  if (r < 20) return damageBoundary(rng, data);
  if (r < 38) return damageEncoding(rng, data);
  if (r < 48) return relabelCharset(rng, data);
  if (r < 53) return insertHugeLine(rng, data, rng.pick([1000, 10_000, 100 * 1024]));
  if (r < 70) return mutateLines(rng, data);
  return mutateBytes(rng, data);
}
