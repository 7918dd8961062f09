/** Error codes of the event feed and its sinks. */
import { CodedError } from '../util/errors.js';

export const EventsErrorCode = {
  /** The feed is not open (never opened, closing or closed). */
  CLOSED: 'EEVENTS_CLOSED',
  /** An event or option the caller passed cannot be used (bad id, bad time, bad sink name). */
  INVALID: 'EEVENTS_INVALID',
  /** The feed's LevelDB failed to open (locked by another process, damaged) or to read or write. */
  FEED_IO: 'EEVENTS_FEED_IO',
  /** The feed's directory is damaged (checked before LevelDB opens it, as the store's is); it was left as it was. */
  FEED_CORRUPT: 'EEVENTS_FEED_CORRUPT',
  /** A JSONL sink could not open, write or sync its file. */
  FILE_IO: 'EEVENTS_FILE_IO',
  /** A webhook receiver answered with a status other than 2xx. */
  HTTP_STATUS: 'EEVENTS_HTTP_STATUS',
  /** A webhook request did not complete within its timeout. */
  HTTP_TIMEOUT: 'EEVENTS_HTTP_TIMEOUT',
  /** A webhook request failed below HTTP (connection refused, reset, DNS). */
  HTTP_NETWORK: 'EEVENTS_HTTP_NETWORK',
  /** Delivery was stopped by close() before it finished. */
  STOPPED: 'EEVENTS_STOPPED',
} as const;

export function eventsError(code: string, message: string, cause?: unknown): CodedError {
  return new CodedError(code, message, cause === undefined ? undefined : { cause });
}
