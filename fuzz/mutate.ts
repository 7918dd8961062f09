/**
 * Generic mutations of byte strings and of line-structured text (mail), shared by the targets.
 * Each mutation returns a new Buffer and a short label that says what it did (for the findings).
 */
import type { Rng } from './random.js';

export interface Mutated {
  data: Buffer;
  label: string;
}

/** Values that tend to sit on edges: lengths, signs, NULs, CR/LF, high bytes. */
const INTERESTING_BYTES = [0x00, 0x01, 0x0a, 0x0d, 0x20, 0x22, 0x27, 0x2d, 0x3c, 0x3d, 0x3e, 0x7f, 0x80, 0xc0, 0xfe, 0xff];
const INTERESTING_U32 = [0, 1, 2, 5, 0x7f, 0xff, 0x100, 0xffff, 0x10000, 0x100000, 0x100001, 0x7fffffff, 0x80000000, 0xffffffff];

export function flipBits(rng: Rng, data: Buffer): Mutated {
  const out = Buffer.from(data);
  const n = 1 + rng.skewed(8);
  for (let i = 0; i < n && out.length > 0; i++) out[rng.below(out.length)]! ^= 1 << rng.below(8);
  return { data: out, label: `flip-bits x${n}` };
}

export function setInterestingByte(rng: Rng, data: Buffer): Mutated {
  const out = Buffer.from(data);
  if (out.length === 0) return { data: out, label: 'interesting-byte (empty)' };
  const at = rng.below(out.length);
  out[at] = rng.pick(INTERESTING_BYTES);
  return { data: out, label: `interesting-byte @${at}` };
}

export function setInterestingU32(rng: Rng, data: Buffer): Mutated {
  const out = Buffer.from(data);
  if (out.length < 4) return { data: out, label: 'interesting-u32 (short)' };
  const at = rng.below(out.length - 3);
  out.writeUInt32BE(rng.pick(INTERESTING_U32), at);
  return { data: out, label: `interesting-u32 @${at}` };
}

export function truncate(rng: Rng, data: Buffer): Mutated {
  const at = rng.below(data.length + 1);
  return { data: data.subarray(0, at), label: `truncate @${at}` };
}

export function deleteRange(rng: Rng, data: Buffer): Mutated {
  const at = rng.below(data.length + 1);
  const n = 1 + rng.skewed(Math.max(1, data.length - at));
  return { data: Buffer.concat([data.subarray(0, at), data.subarray(at + n)]), label: `delete ${n} @${at}` };
}

export function insertGarbage(rng: Rng, data: Buffer): Mutated {
  const at = rng.below(data.length + 1);
  const garbage = rng.bytes(1 + rng.skewed(256));
  return { data: Buffer.concat([data.subarray(0, at), garbage, data.subarray(at)]), label: `insert ${garbage.length} random @${at}` };
}

export function duplicateRange(rng: Rng, data: Buffer): Mutated {
  if (data.length === 0) return { data, label: 'duplicate (empty)' };
  const from = rng.below(data.length);
  const n = 1 + rng.skewed(Math.min(4096, data.length - from - 1));
  const copies = 1 + rng.skewed(20);
  const piece = data.subarray(from, from + n);
  const at = rng.below(data.length + 1);
  return {
    data: Buffer.concat([data.subarray(0, at), ...Array<Buffer>(copies).fill(piece), data.subarray(at)]),
    label: `duplicate ${n}x${copies} from @${from} to @${at}`,
  };
}

/** The generic byte mutations, one of them applied at random. */
export function mutateBytes(rng: Rng, data: Buffer): Mutated {
  const mutations = [flipBits, setInterestingByte, setInterestingU32, truncate, deleteRange, insertGarbage, duplicateRange];
  return rng.pick(mutations)(rng, data);
}

/** Applies 1..max random mutations from `pick`, returning the result and the labels joined. */
export function stack(rng: Rng, data: Buffer, max: number, pick: (rng: Rng, data: Buffer) => Mutated): Mutated {
  const n = 1 + rng.skewed(max - 1);
  const labels: string[] = [];
  let out = data;
  for (let i = 0; i < n; i++) {
    const m = pick(rng, out);
    out = m.data;
    labels.push(m.label);
  }
  return { data: out, label: labels.join('; ') };
}

// --- line-structured text (latin1, so every byte survives) ---

function lines(data: Buffer): string[] {
  return data.toString('latin1').split(/(?<=\n)/);
}

function join(parts: string[]): Buffer {
  return Buffer.from(parts.join(''), 'latin1');
}

export function dropLine(rng: Rng, data: Buffer): Mutated {
  const ls = lines(data);
  const i = rng.below(ls.length);
  ls.splice(i, 1);
  return { data: join(ls), label: `drop line ${i}` };
}

export function repeatLine(rng: Rng, data: Buffer): Mutated {
  const ls = lines(data);
  const i = rng.below(ls.length);
  const times = 2 + rng.skewed(200);
  ls.splice(i, 1, ...Array<string>(times).fill(ls[i] ?? ''));
  return { data: join(ls), label: `repeat line ${i} x${times}` };
}

export function swapLines(rng: Rng, data: Buffer): Mutated {
  const ls = lines(data);
  const i = rng.below(ls.length);
  const j = rng.below(ls.length);
  [ls[i], ls[j]] = [ls[j]!, ls[i]!];
  return { data: join(ls), label: `swap lines ${i} ${j}` };
}

/** CRLF to LF, LF to CRLF, bare CR, or mixed: line ends are where MIME parsers slip. */
export function changeLineEnds(rng: Rng, data: Buffer): Mutated {
  const text = data.toString('latin1');
  const style = rng.pick(['lf', 'crlf', 'cr', 'mixed'] as const);
  let out: string;
  if (style === 'lf') out = text.replace(/\r\n/g, '\n');
  else if (style === 'crlf') out = text.replace(/\r?\n/g, '\r\n');
  else if (style === 'cr') out = text.replace(/\r?\n/g, '\r');
  else out = text.replace(/\r?\n/g, () => rng.pick(['\n', '\r\n', '\r', '\n\r']));
  return { data: Buffer.from(out, 'latin1'), label: `line ends ${style}` };
}

/** A line of `length` bytes without a line break, inserted at a random line start. */
export function insertHugeLine(rng: Rng, data: Buffer, length = 100 * 1024): Mutated {
  const ls = lines(data);
  const i = rng.below(ls.length + 1);
  const unit = rng.pick(['a', 'x ', '=', '<a href="http://h.example/">', 'https://example.com/', '\t', '=3D', '&amp;']);
  ls.splice(i, 0, unit.repeat(Math.ceil(length / unit.length)).slice(0, length) + (rng.chance(0.5) ? '\r\n' : ''));
  return { data: join(ls), label: `huge line of ${length} (${JSON.stringify(unit)}) at line ${i}` };
}

export function mutateLines(rng: Rng, data: Buffer): Mutated {
  return rng.pick([dropLine, repeatLine, swapLines, changeLineEnds])(rng, data);
}
