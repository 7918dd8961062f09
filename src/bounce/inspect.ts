/**
 * What a report says, before any identity is judged: its format (DSN, ARF, read receipt or prose),
 * the fields of its machine-readable part, the prose failure notice of a non-standard bounce, and
 * every X-Mailer-Info-Extra value it returns.
 */
import { parseFeedbackReport, type FeedbackReport } from './arf.js';
import { parseDeliveryStatus, type DeliveryStatus } from './dsn.js';
import { infoHeadersInHeaderBlock, infoHeadersInText } from './find-info-header.js';
import { fieldValues, htmlToText, partText, readReportTree, type ReportPart } from './parts.js';
import { noticeLines, readFailureNotice, reportingMtaInProse, splitLines, type FailureNotice } from './quoted-headers.js';

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

const DELIVERY_STATUS_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status']);
const FEEDBACK_TYPES = new Set(['message/feedback-report']);
const DISPOSITION_TYPES = new Set(['message/disposition-notification', 'message/global-disposition-notification']);
/** Where a report returns the original message or its headers (text/rfc822-headers per RFC 6522). */
const RETURNED_TYPES = new Set(['message/rfc822', 'message/global', 'text/rfc822-headers', 'message/global-headers', 'message/rfc822-headers']);

interface TextView {
  lines: string[];
  quoted: ReturnType<typeof infoHeadersInText>;
}

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
  const infoHeaderCandidates = [...returned.flatMap((p) => infoHeadersInHeaderBlock(p.content)), ...views.flatMap((v) => v.quoted.map((q) => q.value))];
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
