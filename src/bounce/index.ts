/**
 * Bounces and complaints: turn a DSN (RFC 3464/6533), an ARF complaint (RFC 5965) or a
 * non-standard bounce that quotes the original headers into events tied to the recipient and send
 * named by our signed X-Mailer-Info-Extra header. Pure functions, no I/O, never throw.
 *
 * A report without a header that verifies is "not-ours": never guessed from addresses.
 * A DSN recipient with Action: delayed becomes a `delayed` event, not a bounce: the MTA is still
 * trying and the message may yet arrive. A DSN holding both failures and delays gives
 * kind 'bounce' with the delays alongside; one holding only delays gives kind 'delayed'.
 * Read receipts (MDN), ARF auth-failure and not-spam reports, and success DSNs are not-a-report.
 */
import type { Keyring } from '../tokens/index.js';
import { capText } from './report-event.js';
import { verifyCandidates } from './find-info-header.js';
import { inspectReport, type ReportInspection } from './inspect.js';
import { arfResult, dsnResult, unstructuredResult, type BounceResult } from './report-events.js';

export type { BounceCategory, Classification } from './classify.js';
export { classify, greenArrowBounceType, greenArrowEventTypes } from './classify.js';

export type { ReportEvent } from './report-event.js';
export { FIELD_CAPS } from './report-event.js';

export { inspectReport, type ReportFormat } from './inspect.js';
export type { BounceResult } from './report-events.js';

interface ParseOptions {
  /** The event time (when the report was read); defaults to now. */
  now?: Date;
}

function resultOf(inspection: ReportInspection, keyring: Keyring, now: Date): BounceResult {
  const identity = verifyCandidates(keyring, inspection.infoHeaderCandidates);
  switch (inspection.format) {
    case 'mdn':
      return { kind: 'not-a-report', reason: 'disposition-notification' };
    case 'arf':
      return arfResult(inspection.feedback!, identity, now);
    case 'dsn':
      return dsnResult(inspection.deliveryStatus!, identity, now);
    case 'unstructured':
      return unstructuredResult(inspection, identity, now);
  }
}

/** Reads one report (a whole message as received) into events, or says why there are none. */
export function parseReport(raw: Buffer, keyring: Keyring, options: ParseOptions = {}): BounceResult {
  try {
    return resultOf(inspectReport(raw), keyring, options.now ?? new Date());
  } catch (err) {
    // A parser bug must not lose a bounce silently: the caller sees "unreadable" and can log it.
    return { kind: 'not-a-report', reason: 'unreadable', detail: capText(err instanceof Error ? err.message : String(err), 200) };
  }
}
