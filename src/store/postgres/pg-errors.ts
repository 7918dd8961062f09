/** PostgreSQL and connection failures in the store's codes (../errors.ts). */
import { CodedError } from '../../util/errors.js';
import { StoreErrorCode } from '../errors.js';

/**
 * A CodedError passes through; anything else becomes ESTORE_UNAVAILABLE (the database cannot be reached
 * or did not answer: try again later), ESTORE_INVALID (it refused the record's data) or ESTORE_IO (it
 * refused the statement for another reason), naming the database and what failed.
 */
export function translatePgError(err: unknown, where: string, doing: string): CodedError {
  if (err instanceof CodedError) return err;
  const detail = describe(err);
  const code = codeOf(err);
  // SQLSTATE class 22 (data exception) and 23 (integrity) mean a record the checks let through.
  if (/^2[23][0-9A-Z]{3}$/.test(code)) {
    return new CodedError(StoreErrorCode.INVALID, `record cannot be stored in PostgreSQL ${where}: ${detail}`, { cause: err });
  }
  if (isUnavailable(err)) {
    return new CodedError(StoreErrorCode.UNAVAILABLE, `PostgreSQL ${where} unavailable: cannot ${doing}: ${detail}`, { cause: err });
  }
  return new CodedError(StoreErrorCode.IO, `PostgreSQL ${where}: cannot ${doing}: ${detail}`, { cause: err });
}

/** SQLSTATE classes that say nothing about the statement, only that the server cannot run it now. */
const TRANSIENT_SQLSTATE = /^(08|40|53|57|58)[0-9A-Z]{3}$/;
/** Socket and name-resolution failures (node's errno codes). */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);
/** What pg and pg-pool say, without a code, when a connection drops, times out or cannot be made. */
const PG_CONNECTION_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Client was closed)/;

/** True when the failure is the database being unreachable, restarting, overloaded or too slow. */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof CodedError) return err.code === StoreErrorCode.UNAVAILABLE;
  if (err instanceof AggregateError) return err.errors.length > 0 && err.errors.every(isUnavailable);
  const code = codeOf(err);
  if (TRANSIENT_SQLSTATE.test(code) || NETWORK_CODES.has(code)) return true;
  return err instanceof Error && PG_CONNECTION_MESSAGES.test(err.message);
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** What to call the database in messages: host, port and database, never the password. */
export function describeDatabase(url: string): string {
  if (url === '') {
    const env = process.env;
    return `${env.PGHOST ?? 'localhost'}:${env.PGPORT ?? '5432'}/${env.PGDATABASE ?? env.PGUSER ?? env.USER ?? ''} (from PG* environment variables)`;
  }
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || parsed.searchParams.get('host') || 'localhost'}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return '(store.postgres_url)';
  }
}

/** A connection refused on every address is an AggregateError with an empty message: name its parts. */
function describe(err: unknown): string {
  if (err instanceof AggregateError && err.message === '') return err.errors.map(describe).join('; ');
  if (!(err instanceof Error)) return String(err);
  if (err.message !== '') return err.message;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : err.name;
}
