/** RFC 5965 feedback reports (ARF): the machine-readable second part of a complaint. */
import { addressValue, allValues, firstValue, parseFieldGroups, withoutTypePrefix } from './field-groups.js';

export interface FeedbackReport {
  /** Lower-cased: abuse, fraud, virus, other, not-spam, auth-failure... */
  feedbackType: string;
  userAgent: string;
  version: string;
  originalMailFrom: string;
  originalRcptTo: string[];
  arrivalDate: string;
  reportingMta: string;
  sourceIp: string;
  reportedDomain: string;
}

export function parseFeedbackReport(text: string): FeedbackReport {
  // One group by the RFC; AOL and others add blank lines and MIME headers, so all groups are read as one.
  const fields = parseFieldGroups(text).flat();
  return {
    feedbackType: firstValue(fields, 'feedback-type').toLowerCase(),
    userAgent: firstValue(fields, 'user-agent'),
    version: firstValue(fields, 'version'),
    originalMailFrom: addressValue(firstValue(fields, 'original-mail-from')),
    originalRcptTo: allValues(fields, 'original-rcpt-to').map(addressValue),
    // Received-Date is what the drafts before RFC 5965 (and AOL and Yahoo to this day) called Arrival-Date.
    arrivalDate: firstValue(fields, 'arrival-date') || firstValue(fields, 'received-date'),
    reportingMta: withoutTypePrefix(firstValue(fields, 'reporting-mta')),
    sourceIp: firstValue(fields, 'source-ip'),
    reportedDomain: firstValue(fields, 'reported-domain'),
  };
}

/**
 * Feedback types that are not a recipient complaining: auth-failure is a DMARC/DKIM failure report
 * (RFC 6591) and not-spam is the opposite of a complaint. Everything else, an unknown or missing
 * type included, counts as a complaint, as mailbox providers' loops send "abuse" or nothing at all.
 */
export const NON_COMPLAINT_FEEDBACK_TYPES = new Set(['auth-failure', 'not-spam']);
