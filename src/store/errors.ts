/** Store error codes, and the translation of LevelDB's errors into them. */
import { CodedError, errorCodeChain } from '../util/errors.js';

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
  /** Any other failure of the file system or LevelDB. */
  IO: 'ESTORE_IO',
} as const;

const REPAIR_ADVICE =
  'The store was not changed. Restore the directory from a backup, or move it aside and start with an empty ' +
  'one; ClassicLevel.repair() can salvage what is readable, but records in the damaged parts are lost.';

function lockedError(dir: string, cause: unknown): CodedError {
  return new CodedError(
    StoreErrorCode.LOCKED,
    `store directory ${dir} is locked by another process (is another trackmilter serve running on it?)`,
    { cause },
  );
}

export function corruptError(dir: string, detail: string, cause?: unknown): CodedError {
  return new CodedError(StoreErrorCode.CORRUPT, `store directory ${dir} is damaged: ${detail}. ${REPAIR_ADVICE}`, { cause });
}

export function closedError(dir: string): CodedError {
  return new CodedError(StoreErrorCode.CLOSED, `store ${dir} is not open`);
}

export function invalidError(cause: unknown): CodedError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new CodedError(StoreErrorCode.INVALID, `record cannot be stored: ${detail}`, { cause });
}

function innermostMessage(err: unknown): string {
  let e = err;
  while (e && typeof e === 'object' && (e as { cause?: unknown }).cause) e = (e as { cause?: unknown }).cause;
  return e instanceof Error ? e.message : String(e);
}

/** Translates an error from opening LevelDB. */
export function openError(dir: string, err: unknown): CodedError {
  const codes = errorCodeChain(err);
  if (codes.includes('LEVEL_LOCKED')) return lockedError(dir, err);
  if (codes.includes('LEVEL_CORRUPTION')) return corruptError(dir, innermostMessage(err), err);
  return new CodedError(StoreErrorCode.IO, `cannot open store directory ${dir}: ${innermostMessage(err)}`, { cause: err });
}

/** Translates an error from a read or write on an open database. */
export function operationError(dir: string, err: unknown): CodedError {
  if (err instanceof CodedError && err.code.startsWith('ESTORE_')) return err;
  const codes = errorCodeChain(err);
  if (codes.includes('LEVEL_CORRUPTION')) return corruptError(dir, innermostMessage(err), err);
  if (codes.includes('LEVEL_DATABASE_NOT_OPEN')) {
    return new CodedError(StoreErrorCode.CLOSED, `store ${dir} is not open`, { cause: err });
  }
  return new CodedError(StoreErrorCode.IO, `store ${dir}: ${innermostMessage(err)}`, { cause: err });
}
