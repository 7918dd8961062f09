// The admin endpoints behind `trackmilter suppressions`: the daemon holds the LevelDB lock, so the
// command asks it.
//   GET  /admin/suppressions[?list=ID]   -> JSON lines {listId, address, time, source, sendId}
//   POST /admin/suppressions/add         {source?: 'manual'|'import', entries: [{listId, address}]} -> {added}
//   POST /admin/suppressions/remove      {entries: [{listId, address}]} -> {removed}
import type { PostHandler } from '../admin/admin-api.js';
import { normalizeAddress, type Suppression, type SuppressionChange, type TrackStore } from '../store/index.js';
import { MAX_SUPPRESSED_ADDRESS_BYTES } from '../store/suppressions.js';

/** Entries in one request; an import of more is sent in several. */
export const MAX_ENTRIES_PER_REQUEST = 10_000;

export interface SuppressionEntry {
  listId: string;
  address: string;
}

/** The entries of a request body, or why they are not acceptable. */
function readEntries(body: Buffer): { entries: SuppressionEntry[]; source: 'manual' | 'import' } | { error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { error: 'body is not JSON' };
  }
  const value = parsed as { entries?: unknown; source?: unknown };
  if (!Array.isArray(value.entries)) return { error: 'entries must be an array' };
  if (value.entries.length > MAX_ENTRIES_PER_REQUEST) return { error: `at most ${MAX_ENTRIES_PER_REQUEST} entries per request` };
  const entries: SuppressionEntry[] = [];
  for (const [i, e] of (value.entries as unknown[]).entries()) {
    const entry = e as { listId?: unknown; address?: unknown };
    if (typeof entry?.listId !== 'string' || entry.listId === '' || Buffer.byteLength(entry.listId) > 0xffff)
      return { error: `entry ${i}: listId must be a non-empty string` };
    if (typeof entry.address !== 'string' || !isAddress(entry.address)) return { error: `entry ${i}: address must be an email address` };
    entries.push({ listId: entry.listId, address: normalizeAddress(entry.address) });
  }
  return { entries, source: value.source === 'import' ? 'import' : 'manual' };
}

function isAddress(text: string): boolean {
  const address = normalizeAddress(text);
  return /^[^\s@<>]+@[^\s@<>]+$/.test(address) && Buffer.byteLength(address) <= MAX_SUPPRESSED_ADDRESS_BYTES;
}

export function suppressionPostHandlers(store: Pick<TrackStore, 'changeSuppressions'>, now: () => Date = () => new Date()): Record<string, PostHandler> {
  const change = (op: 'add' | 'remove') => async (body: Buffer) => {
    const read = readEntries(body);
    if ('error' in read) return { status: 400, json: { error: read.error } };
    const time = now();
    const changes = read.entries.map((e): SuppressionChange =>
      op === 'add'
        ? { op, suppression: { listId: e.listId, address: e.address, time, source: read.source, sendId: '' } }
        : { op, listId: e.listId, address: e.address },
    );
    await store.changeSuppressions(changes);
    return { status: 200, json: op === 'add' ? { added: changes.length } : { removed: changes.length } };
  };
  return { 'suppressions/add': change('add'), 'suppressions/remove': change('remove') };
}

export function suppressionJsonLine(s: Suppression): string {
  return JSON.stringify({ listId: s.listId, address: s.address, time: s.time.toISOString(), source: s.source, sendId: s.sendId }) + '\n';
}
