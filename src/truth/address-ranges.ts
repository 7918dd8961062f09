/**
 * Published address ranges of mail security vendors and of Apple's MPP proxies, read from data files
 * (ranges/*.txt in the package; `machine.ranges_dir` points elsewhere to replace them). A file is
 * one address or CIDR range per line, `#` comments, and header lines naming what a hit means:
 *
 *   # reason: range:proofpoint     the machineReason recorded for a request from these ranges (required)
 *   # kind: open                   only opens (or only clicks) are flagged; both when absent
 *   # source: URL ...              where the list comes from; # date: when it was read
 *
 * Parsing is pure (parseRangeFile); loadRangeDir does the reading. A bad line is an error naming the
 * file and line (ETRUTH_RANGES), never skipped: a list that silently lost entries would flag less.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AddressSet, parsedAddress } from '../redirector/ip-address.js';
import { CodedError } from '../util/errors.js';
import { TruthErrorCode } from './errors.js';
import type { LinkKind } from '../redirector/types.js';

export interface RangeList {
  /** The file it came from (base name), for messages. */
  name: string;
  reason: string;
  kind?: LinkKind;
  source: string;
  date: string;
  entries: string[];
}

/** The shipped lists: <package>/ranges, two levels above dist/truth or src/truth. */
export const SHIPPED_RANGES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'ranges');

const REASON_SYNTAX = /^[a-z0-9][a-z0-9:._-]{0,63}$/;

export function parseRangeFile(name: string, text: string): RangeList {
  const list: RangeList = { name, reason: '', source: '', date: '', entries: [] };
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith('#')) {
      const header = /^#\s*(reason|kind|source|date):\s*(.*)$/i.exec(line);
      if (!header) return;
      const key = header[1]!.toLowerCase();
      const value = header[2]!.trim();
      if (key === 'reason') list.reason = value;
      else if (key === 'kind') {
        if (value !== 'open' && value !== 'click') throw rangeError(name, index, `kind must be open or click, not "${value}"`);
        list.kind = value;
      } else if (key === 'source') list.source ||= value;
      else list.date ||= value;
      return;
    }
    const entry = line.split(/\s+/, 1)[0]!;
    try {
      new AddressSet([entry], 'address range');
    } catch (err) {
      throw rangeError(name, index, (err as Error).message);
    }
    list.entries.push(entry);
  });
  if (!REASON_SYNTAX.test(list.reason)) throw rangeError(name, -1, 'needs a "# reason: NAME" header line (lower case letters, digits, : . _ -)');
  return list;
}

function rangeError(name: string, index: number, message: string): CodedError {
  const where = index >= 0 ? `${name} line ${index + 1}` : name;
  return new CodedError(TruthErrorCode.RANGES, `address range file ${where}: ${message}`);
}

/** Every *.txt file of a directory, in name order. */
export async function loadRangeDir(dir: string): Promise<RangeList[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.txt')).sort();
  } catch (err) {
    throw new CodedError(TruthErrorCode.RANGES, `cannot read the address range directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
  return Promise.all(names.map(async (n) => parseRangeFile(n, await readFile(path.join(dir, n), 'utf8'))));
}

/** The reason for an address, per kind of request: the first list (in name order) that holds it. */
export class RangeTable {
  private readonly sets: Array<{ set: AddressSet; reason: string; kind?: LinkKind }>;

  constructor(lists: readonly RangeList[]) {
    this.sets = lists
      .filter((l) => l.entries.length > 0)
      .map((l) => ({ set: new AddressSet(l.entries), reason: l.reason, ...(l.kind ? { kind: l.kind } : {}) }));
  }

  reasonFor(ip: string, kind: LinkKind): string | undefined {
    let address: ReturnType<typeof parsedAddress> | null = null; // parsed once, for all the lists
    for (const s of this.sets) {
      if (s.kind !== undefined && s.kind !== kind) continue;
      if (address === null) address = parsedAddress(ip);
      if (address === undefined) return undefined;
      if (s.set.hasParsed(address)) return s.reason;
    }
    return undefined;
  }
}
