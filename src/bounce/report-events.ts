/** Events from an inspected report and a verified identity (or the reason there are none). */
import { NON_COMPLAINT_FEEDBACK_TYPES, type FeedbackReport } from './arf.js';
import { classify, statusClass } from './classify.js';
import type { DeliveryStatus, DsnRecipient } from './dsn.js';
import { capText, FIELD_CAPS, type BounceEvent, type ComplaintEvent, type DelayedEvent, type ReportEventFields } from './report-event.js';
import type { IdentityLookup } from './find-info-header.js';
import type { ReportInspection } from './inspect.js';

type NotOursReason = 'no-info-header' | 'info-header-invalid';
type NotAReportReason = 'no-failure-notice' | 'disposition-notification' | 'not-a-complaint' | 'no-failed-recipients' | 'unreadable';

export type BounceResult =
  | { kind: 'bounce'; events: BounceEvent[]; delayed: DelayedEvent[] }
  | { kind: 'delayed'; events: DelayedEvent[] }
  | { kind: 'complaint'; events: ComplaintEvent[] }
  | { kind: 'not-ours'; reason: NotOursReason; detail?: string }
  | { kind: 'not-a-report'; reason: NotAReportReason; detail?: string };

type Identity = Extract<IdentityLookup, { ok: true }>;

function baseFields(
  identity: Identity,
  reportedRecipient: string,
  now: Date,
): Pick<ReportEventFields, 'time' | 'sendId' | 'listId' | 'recipient' | 'emailCode' | 'reportedRecipient' | 'kid'> {
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

export function dsnResult(report: DeliveryStatus, identity: IdentityLookup, now: Date): BounceResult {
  const reported = report.recipients.filter((r) => !NON_FAILURE_ACTIONS.has(r.action) && statusClass(r.status, r.diagnostic) !== '2');
  if (reported.length === 0) return { kind: 'not-a-report', reason: 'no-failed-recipients' };
  if (!identity.ok) return notOurs(identity);
  const events = reported.map((r) => dsnEvent(r, report, identity, now));
  const bounces = events.filter((e): e is BounceEvent => e.type === 'bounce');
  const delayed = events.filter((e): e is DelayedEvent => e.type === 'delayed');
  return bounces.length > 0 ? { kind: 'bounce', events: bounces, delayed } : { kind: 'delayed', events: delayed };
}

export function arfResult(feedback: FeedbackReport, identity: IdentityLookup, now: Date): BounceResult {
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

export function unstructuredResult(inspection: ReportInspection, identity: IdentityLookup, now: Date): BounceResult {
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
  return lookup.reason === 'info-header-invalid'
    ? { kind: 'not-ours', reason: lookup.reason, detail: lookup.code }
    : { kind: 'not-ours', reason: lookup.reason };
}
