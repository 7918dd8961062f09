/**
 * Suppressions: who unsubscribed from which list. Keys and values, and the read cache the milter's
 * per-message lookups go through.
 *
 *   x!<listId><address>   -> {t: ms since the epoch, s: source, e: SendID}
 *
 * <listId> is its UTF-8 bytes behind a 2-byte length (as sendIds in keys.ts), <address> the recipient
 * in lower case (the same person whatever case a later message spells them in). Suppressions have no
 * retention entry: the sweep never removes them; only `trackmilter suppressions remove` does.
 */
import { encodeSendId } from './keys.js';
import { BoundedMap } from '../util/bounded-map.js';

const SUPPRESSION = Buffer.from('x!');
/** Longest address kept (RFC 5321's path limit is 256 octets). */
export const MAX_SUPPRESSED_ADDRESS_BYTES = 320;

/** How a suppression came about: an unsubscribe (RFC 8058 POST, the page's button, mail), or by hand. */
type SuppressionSource = 'one-click' | 'page' | 'mailto' | 'import' | 'manual';

export interface Suppression {
  listId: string;
  /** Lower case. */
  address: string;
  time: Date;
  source: SuppressionSource;
  /** The send whose message the person unsubscribed from ('' when added by hand or imported). */
  sendId: string;
}

export type SuppressionChange = { op: 'add'; suppression: Suppression } | { op: 'remove'; listId: string; address: string };

/**
 * The suppression an event implies: an unsubscribe of a named person from a list, made by a one-click
 * POST, the confirmation page or mail to the unsubscribe address. A click on a sender's own unsubscribe
 * link (source 'link') implies none: following a link is what scanners do.
 */
export function suppressingSource(event: { type: string; listId: string; recipient: string; details?: Record<string, string> }): SuppressionSource | null {
  if (event.type !== 'unsubscribe' || event.listId === '' || event.recipient === '') return null;
  const source = event.details?.source;
  return source === 'one-click' || source === 'page' || source === 'mailto' ? source : null;
}

export function normalizeAddress(address: string): string {
  return address.trim().toLowerCase();
}

/** Throws RangeError for what cannot be a suppression (empty list or address, over the key limits). */
export function suppressionKey(listId: string, address: string): Buffer {
  if (listId === '') throw new RangeError('a suppression needs a ListID');
  const addr = Buffer.from(normalizeAddress(address), 'utf8');
  if (addr.length === 0 || addr.length > MAX_SUPPRESSED_ADDRESS_BYTES) {
    throw new RangeError(`a suppressed address is 1 to ${MAX_SUPPRESSED_ADDRESS_BYTES} bytes`);
  }
  return Buffer.concat([SUPPRESSION, encodeSendId(listId), addr]);
}

/** Every suppression, or one list's. */
export function suppressionRange(listId?: string): { gte: Buffer; lt: Buffer } {
  const prefix = listId === undefined ? SUPPRESSION : Buffer.concat([SUPPRESSION, encodeSendId(listId)]);
  const end = Buffer.from(prefix);
  // The last byte is '!', or of a UTF-8 ListID (never 0xff), or a length byte of an empty one (0): never 0xff.
  end[end.length - 1] = end[end.length - 1]! + 1;
  return { gte: prefix, lt: end };
}

export function encodeSuppression(s: Suppression): Buffer {
  return Buffer.from(JSON.stringify({ t: s.time.getTime(), s: s.source, e: s.sendId }), 'utf8');
}

export function decodeSuppression(key: Buffer, value: Buffer): Suppression {
  const listLength = key.readUInt16BE(SUPPRESSION.length);
  const listAt = SUPPRESSION.length + 2;
  const listId = key.subarray(listAt, listAt + listLength).toString('utf8');
  const address = key.subarray(listAt + listLength).toString('utf8');
  const v = JSON.parse(value.toString('utf8')) as { t: number; s: SuppressionSource; e: string };
  return { listId, address, time: new Date(v.t), source: v.s, sendId: v.e };
}

/** One lookup that missed the cache, still waiting for LevelDB. */
interface PendingLookup {
  stale: boolean;
}

/**
 * What this process knows of suppressions, found or absent, so a send's messages to the same people
 * do not each read LevelDB. Coherent because the store's process is the only writer: every write
 * updates it after the batch is on disk, and a lookup in flight meanwhile does not keep what it read
 * (it may be from before the write: an absence kept then would let a person who just unsubscribed
 * receive the list until the entry aged out).
 */
export class SuppressionCache {
  private readonly known: BoundedMap<boolean>;
  private readonly pending = new Map<string, Set<PendingLookup>>();
  hits = 0;
  misses = 0;

  constructor(capacity: number) {
    this.known = new BoundedMap(capacity);
  }

  get size(): number {
    return this.known.size;
  }

  lookup(key: Buffer): boolean | undefined {
    const found = this.known.get(key.toString('latin1'));
    if (found === undefined) this.misses += 1;
    else this.hits += 1;
    return found;
  }

  /** Registers a LevelDB read of these keys; `finish` keeps what it found unless a write came between. */
  startLookup(keys: readonly Buffer[]): { finish(found: readonly boolean[]): void } {
    const entries = keys.map((key) => {
      const text = key.toString('latin1');
      const lookup: PendingLookup = { stale: false };
      let set = this.pending.get(text);
      if (!set) this.pending.set(text, (set = new Set()));
      set.add(lookup);
      return { text, lookup, set };
    });
    return {
      finish: (found) => {
        entries.forEach(({ text, lookup, set }, i) => {
          if (!lookup.stale && found[i] !== undefined) this.known.set(text, found[i]);
          set.delete(lookup);
          if (set.size === 0 && this.pending.get(text) === set) this.pending.delete(text);
        });
      },
    };
  }

  /** A write put (true) or deleted (false) this suppression: known now, and lookups in flight are stale. */
  written(key: Buffer, suppressed: boolean): void {
    const text = key.toString('latin1');
    this.known.set(text, suppressed);
    const set = this.pending.get(text);
    if (!set) return;
    for (const lookup of set) lookup.stale = true;
    this.pending.delete(text);
  }
}
