/** PostgreSQL and connection failures in the store's codes (../errors.ts). */
import { CodedError } from '../../util/errors.js';
import { StoreErrorCode } from '../errors.js';

/** A CodedError passes through; anything else becomes ESTORE_IO naming the database and what failed. */
export function translatePgError(err: unknown, where: string, doing: string): CodedError {
  if (err instanceof CodedError) return err;
  const detail = describe(err);
  // SQLSTATE class 22 (data exception) and 23 (integrity) mean a record the checks let through.
  const sqlState = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : '';
  if (/^2[23][0-9A-Z]{3}$/.test(sqlState)) {
    return new CodedError(StoreErrorCode.INVALID, `record cannot be stored in PostgreSQL ${where}: ${detail}`, { cause: err });
  }
  return new CodedError(StoreErrorCode.IO, `PostgreSQL ${where}: cannot ${doing}: ${detail}`, { cause: err });
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
