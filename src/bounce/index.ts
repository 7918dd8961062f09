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
import type { Keyring } from '../links/index.js';
import { NON_COMPLAINT_FEEDBACK_TYPES, parseFeedbackReport, type FeedbackReport } from './arf.js';
import { classify, statusClass } from './classify.js';
import { parseDeliveryStatus, type DeliveryStatus, type DsnRecipient } from './dsn.js';
import { capText, FIELD_CAPS, type BounceEvent, type ComplaintEvent, type DelayedEvent, type ReportEventFields } from './events.js';
import { infoHeadersInHeaderBlock, infoHeadersInText, verifyCandidates, type IdentityLookup } from './find-info-header.js';
import { fieldValues, htmlToText, partText, readReportTree, type ReportPart } from './parts.js';
import { noticeLines, readFailureNotice, reportingMtaInProse, splitLines, type FailureNotice } from './quoted-headers.js';

export type { FeedbackReport } from './arf.js';
export type { BounceCategory, Classification, GreenArrowEventType, Verdict } from './classify.js';
export { classify, greenArrowBounceType, greenArrowEventTypes, HARD_CATEGORIES, SPECIFIC_CODES, SUBJECT_DEFAULTS, TEXT_RULES } from './classify.js';
export type { DeliveryStatus, DsnRecipient } from './dsn.js';
export { parseDeliveryStatus } from './dsn.js';
export { parseFeedbackReport } from './arf.js';
export type { BounceEvent, ComplaintEvent, DelayedEvent, ReportEvent, ReportEventFields, ReportSource } from './events.js';
export { FIELD_CAPS } from './events.js';
export type { FailureNotice } from './quoted-headers.js';

export type NotOursReason = 'no-info-header' | 'info-header-invalid';
export type NotAReportReason =
  | 'no-failure-notice'
  | 'disposition-notification'
  | 'not-a-complaint'
  | 'no-failed-recipients'
  | 'unreadable';

export type BounceResult =
  | { kind: 'bounce'; events: BounceEvent[]; delayed: DelayedEvent[] }
  | { kind: 'delayed'; events: DelayedEvent[] }
  | { kind: 'complaint'; events: ComplaintEvent[] }
  | { kind: 'not-ours'; reason: NotOursReason; detail?: string }
  | { kind: 'not-a-report'; reason: NotAReportReason; detail?: string };

export type ReportFormat = 'dsn' | 'arf' | 'mdn' | 'unstructured';

/** What a report says, before any identity is looked at. */
export interface ReportInspection {
  format: ReportFormat;
  /** The top-level report-type parameter, lower-cased ('' when not multipart/report). */
  reportType: string;
  deliveryStatus?: DeliveryStatus;
  feedback?: FeedbackReport;
  /** The prose failure notice of an unstructured report, null when the prose does not read as one. */
  notice?: FailureNotice | null;
  /** Reporting MTA named in the prose (Postfix "mail system at host", Exchange "Generating server"). */
  proseReportingMta: string;
  /** X-Mailer-Info-Extra values found, returned-message headers first, then quoted in text. */
  infoHeaderCandidates: string[];
}

export interface ParseOptions {
  /** The event time (when the report was read); defaults to now. */
  now?: Date;
}

const DELIVERY_STATUS_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status']);
const FEEDBACK_TYPES = new Set(['message/feedback-report']);
const DISPOSITION_TYPES = new Set(['message/disposition-notification', 'message/global-disposition-notification']);
/** Where a report returns the original message or its headers (text/rfc822-headers per RFC 6522). */
const RETURNED_TYPES = new Set(['message/rfc822', 'message/global', 'text/rfc822-headers', 'message/global-headers', 'message/rfc822-headers']);

interface TextView { lines: string[]; quoted: ReturnType<typeof infoHeadersInText> }

function textViews(parts: ReportPart[]): TextView[] {
  const plain = parts.filter((p) => p.type === 'text/plain').map((p) => splitLines(partText(p)));
  // HTML only as a last resort: every notice generator that writes HTML also writes text.
  const html = parts.filter((p) => p.type === 'text/html').map((p) => splitLines(htmlToText(partText(p))));
  return [...plain, ...html].map((lines) => ({ lines, quoted: infoHeadersInText(lines) }));
}

function readDeliveryStatus(parts: ReportPart[]): DeliveryStatus | undefined {
  const reports = parts.filter((p) => DELIVERY_STATUS_TYPES.has(p.type)).map((p) => parseDeliveryStatus(partText(p)));
  // Some generators send a prose part labelled message/delivery-status before the real one.
  const withRecipients = reports.filter((r) => r.recipients.length > 0);
  if (withRecipients.length === 0) return undefined;
  const first = withRecipients.find((r) => r.reportingMta) ?? withRecipients[0]!;
  return { ...first, recipients: withRecipients.flatMap((r) => r.recipients) };
}

function formatOf(parts: ReportPart[], reportType: string, deliveryStatus: DeliveryStatus | undefined): ReportFormat {
  if (parts.some((p) => FEEDBACK_TYPES.has(p.type))) return 'arf';
  if (deliveryStatus) return 'dsn';
  if (reportType === 'disposition-notification' || parts.some((p) => DISPOSITION_TYPES.has(p.type))) return 'mdn';
  return 'unstructured';
}

/** Reads the structure of a report without judging whose it is. Never throws on malformed MIME. */
export function inspectReport(raw: Buffer): ReportInspection {
  const { root, parts } = readReportTree(raw);
  const reportType = (root.info.params['report-type'] ?? '').trim().toLowerCase();
  const deliveryStatus = readDeliveryStatus(parts);
  const format = formatOf(parts, reportType, deliveryStatus);
  const returned = parts.filter((p) => RETURNED_TYPES.has(p.type) && p !== root);
  const views = textViews(parts);
  const infoHeaderCandidates = [
    ...returned.flatMap((p) => infoHeadersInHeaderBlock(p.content)),
    ...views.flatMap((v) => v.quoted.map((q) => q.value)),
  ];
  const prose = views[0];
  const inspection: ReportInspection = {
    format,
    reportType,
    proseReportingMta: prose ? reportingMtaInProse(prose.lines) : '',
    infoHeaderCandidates,
  };
  if (deliveryStatus) inspection.deliveryStatus = deliveryStatus;
  const feedbackPart = parts.find((p) => FEEDBACK_TYPES.has(p.type));
  if (feedbackPart) inspection.feedback = parseFeedbackReport(partText(feedbackPart));
  if (format === 'unstructured') {
    // The notice is the first text that is not only a quoted header block.
    const failedRecipients = fieldValues(root.fields, 'x-failed-recipients');
    inspection.notice = null;
    for (const view of views) {
      const notice = readFailureNotice(noticeLines(view.lines, view.quoted[0]?.line), failedRecipients);
      if (notice) {
        inspection.notice = notice;
        break;
      }
    }
  }
  return inspection;
}

type Identity = Extract<IdentityLookup, { ok: true }>;

function baseFields(identity: Identity, reportedRecipient: string, now: Date): Pick<ReportEventFields, 'time' | 'sendId' | 'listId' | 'recipient' | 'emailCode' | 'reportedRecipient' | 'kid'> {
  const reported = capText(reportedRecipient, FIELD_CAPS.address);
  const { recipient, sendId, listId, emailCode } = identity.identity;
  return {
    time: now,
    sendId: capText(sendId, FIELD_CAPS.identity),
    listId: capText(listId, FIELD_CAPS.identity),
    // A message sent to several recipients carries an empty recipient: the report says which one failed.
    recipient: recipient ? capText(recipient, FIELD_CAPS.identity) : reported,
    emailCode: capText(emailCode, FIELD_CAPS.identity),
    reportedRecipient: reported,
    kid: identity.kid,
  };
}

function dsnEvent(recipient: DsnRecipient, report: DeliveryStatus, identity: Identity, now: Date): BounceEvent | DelayedEvent {
  const verdict = classify(recipient.status, recipient.diagnostic);
  const fields = {
    ...baseFields(identity, recipient.finalRecipient || recipient.originalRecipient, now),
    status: capText(recipient.status, FIELD_CAPS.status),
    action: capText(recipient.action, FIELD_CAPS.action),
    diagnostic: capText(recipient.diagnostic, FIELD_CAPS.diagnostic),
    reportingMta: capText(report.reportingMta, FIELD_CAPS.mta),
    remoteMta: capText(recipient.remoteMta, FIELD_CAPS.mta),
    arrivalDate: capText(report.arrivalDate, FIELD_CAPS.date),
    category: verdict.category,
    source: 'dsn' as const,
  };
  if (recipient.action === 'delayed') return { ...fields, type: 'delayed', classification: 'soft' };
  return { ...fields, type: 'bounce', classification: verdict.classification };
}

/** Actions that say the message got through (or on its way): nothing bounced for that recipient. */
const NON_FAILURE_ACTIONS = new Set(['delivered', 'relayed', 'expanded']);

function dsnResult(report: DeliveryStatus, identity: IdentityLookup, now: Date): BounceResult {
  const reported = report.recipients.filter((r) => !NON_FAILURE_ACTIONS.has(r.action) && statusClass(r.status, r.diagnostic) !== '2');
  if (reported.length === 0) return { kind: 'not-a-report', reason: 'no-failed-recipients' };
  if (!identity.ok) return notOurs(identity);
  const events = reported.map((r) => dsnEvent(r, report, identity, now));
  const bounces = events.filter((e): e is BounceEvent => e.type === 'bounce');
  const delayed = events.filter((e): e is DelayedEvent => e.type === 'delayed');
  return bounces.length > 0 ? { kind: 'bounce', events: bounces, delayed } : { kind: 'delayed', events: delayed };
}

function arfResult(feedback: FeedbackReport, identity: IdentityLookup, now: Date): BounceResult {
  if (NON_COMPLAINT_FEEDBACK_TYPES.has(feedback.feedbackType)) return { kind: 'not-a-report', reason: 'not-a-complaint', detail: feedback.feedbackType };
  if (!identity.ok) return notOurs(identity);
  const event: ComplaintEvent = {
    ...baseFields(identity, feedback.originalRcptTo[0] ?? '', now),
    type: 'complaint',
    status: '',
    action: '',
    diagnostic: '',
    reportingMta: capText(feedback.reportingMta, FIELD_CAPS.mta),
    remoteMta: '',
    arrivalDate: capText(feedback.arrivalDate, FIELD_CAPS.date),
    classification: 'unknown',
    category: 'complaint',
    source: 'arf',
    feedbackType: capText(feedback.feedbackType || 'abuse', FIELD_CAPS.feedbackType),
    userAgent: capText(feedback.userAgent, FIELD_CAPS.userAgent),
    sourceIp: capText(feedback.sourceIp, FIELD_CAPS.sourceIp),
    originalMailFrom: capText(feedback.originalMailFrom, FIELD_CAPS.address),
  };
  return { kind: 'complaint', events: [event] };
}

function unstructuredResult(inspection: ReportInspection, identity: IdentityLookup, now: Date): BounceResult {
  const notice = inspection.notice ?? null;
  // A declared delivery-status report whose status part is missing is still a bounce, of unknown kind.
  if (!notice && inspection.reportType !== 'delivery-status') return { kind: 'not-a-report', reason: 'no-failure-notice' };
  if (!identity.ok) return notOurs(identity);
  const status = notice?.status ?? '';
  const diagnostic = notice?.diagnostic ?? '';
  const verdict = classify(status, diagnostic);
  const event: BounceEvent = {
    ...baseFields(identity, notice?.reportedRecipient ?? '', now),
    type: 'bounce',
    status: capText(status, FIELD_CAPS.status),
    action: '',
    diagnostic: capText(diagnostic, FIELD_CAPS.diagnostic),
    reportingMta: capText(inspection.proseReportingMta, FIELD_CAPS.mta),
    remoteMta: '',
    arrivalDate: '',
    classification: verdict.classification,
    category: verdict.category,
    source: 'quoted-headers',
  };
  return { kind: 'bounce', events: [event], delayed: [] };
}

function notOurs(lookup: Exclude<IdentityLookup, { ok: true }>): BounceResult {
  return lookup.reason === 'info-header-invalid' ? { kind: 'not-ours', reason: lookup.reason, detail: lookup.code } : { kind: 'not-ours', reason: lookup.reason };
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
