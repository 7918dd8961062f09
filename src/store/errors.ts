/** Store error codes, and the store's failures named in them for the LevelDB layer under it. */
import type { LevelErrors } from '../level/database.js';
import { CodedError } from '../util/errors.js';

export const StoreErrorCode = {
  /** Another process holds the directory's LevelDB lock. */
  LOCKED: 'ESTORE_LOCKED',
  /** The database files are damaged; the store refuses to open or to read on. */
  CORRUPT: 'ESTORE_CORRUPT',
  /** The store is not open (never opened, closing or closed). */
  CLOSED: 'ESTORE_CLOSED',
  /** The directory holds a layout this version does not know. */
  VERSION: 'ESTORE_VERSION',
  /** A record the caller passed cannot be stored (id size, time range, unknown event type). */
  INVALID: 'ESTORE_INVALID',
  /** Any other failure of the file system or LevelDB (with PostgreSQL: a statement it refused). */
  IO: 'ESTORE_IO',
  /**
   * PostgreSQL cannot be reached, is restarting or did not answer within store.postgres_query_timeout_ms;
   * calls fail at once until a probe finds it back (events wait in the outbox meanwhile).
   */
  UNAVAILABLE: 'ESTORE_UNAVAILABLE',
  /** The outbox of events waiting for PostgreSQL is at one of its limits: the event was not recorded. */
  OUTBOX_FULL: 'ESTORE_OUTBOX_FULL',
  /** PostgreSQL refused an event from the outbox for a reason other than being unreachable: set aside. */
  OUTBOX_REJECTED: 'ESTORE_OUTBOX_REJECTED',
  /** The outbox's LevelDB cannot be opened, read or written (or is damaged). */
  OUTBOX_IO: 'ESTORE_OUTBOX_IO',
} as const;

const REPAIR_ADVICE =
  'The store was not changed. Restore the directory from a backup, or move it aside and start with an empty ' +
  'one; ClassicLevel.repair() can salvage what is readable, but records in the damaged parts are lost.';

/** The store's failures in its codes, for the LevelDB layer under it (../level/database.ts). */
export function storeErrors(dir: string): LevelErrors {
  return {
    locked: (cause) =>
      new CodedError(StoreErrorCode.LOCKED, `store directory ${dir} is locked by another process (is another trackmilter serve running on it?)`, { cause }),
    corrupt: (detail, cause) => new CodedError(StoreErrorCode.CORRUPT, `store directory ${dir} is damaged: ${detail}. ${REPAIR_ADVICE}`, { cause }),
    closed: (cause) => new CodedError(StoreErrorCode.CLOSED, `store ${dir} is not open`, cause === undefined ? undefined : { cause }),
    invalid: (cause) => invalidError(cause),
    io: (doing, detail, cause) =>
      new CodedError(StoreErrorCode.IO, doing === 'open' ? `cannot open store directory ${dir}: ${detail}` : `store ${dir}: ${detail}`, { cause }),
  };
}

/** A record the caller passed that cannot be stored, found while encoding it. */
export function invalidError(cause: unknown): CodedError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new CodedError(StoreErrorCode.INVALID, `record cannot be stored: ${detail}`, { cause });
}
