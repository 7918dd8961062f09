/** The tracking store: URL rows, message records and events, on LevelDB. */
export type { EventType, MessageRecord, ReadCacheStats, SweepResult, TrackEvent, TrackStore, UrlRow } from './types.js';
export { EVENT_TYPES } from './types.js';
export { LevelTrackStore, type LevelStoreOptions } from './level-store.js';
export { normalizeAddress, type Suppression, type SuppressionChange } from './suppressions.js';

import { randomBytes } from 'node:crypto';

/** A fresh event id: 8 random bytes, enough that two events of one send in one millisecond never clash. */
export function newEventId(): Buffer {
  return randomBytes(8);
}
