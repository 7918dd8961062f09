// From a received report to recorded events: what `trackmilter bounce` and the milter's bounce
// addresses both do. Delays are counted, not recorded (the MTA is still trying).
import type { Keyring } from '../tokens/index.js';
import { newEventId, type TrackEvent } from '../store/index.js';
import { parseReport, type ReportEvent } from './index.js';

export interface IntakeOutcome {
  /** bounce | complaint | delayed | not-ours | not-a-report */
  kind: string;
  reason?: string;
  recorded: number;
  delayed: number;
}

export async function takeInReport(raw: Buffer, keyring: Keyring, record: (events: TrackEvent[]) => Promise<void>): Promise<IntakeOutcome> {
  const result = parseReport(raw, keyring);
  switch (result.kind) {
    case 'bounce': {
      const events = result.events.map(toTrackEvent);
      await record(events);
      return { kind: result.kind, recorded: events.length, delayed: result.delayed.length };
    }
    case 'complaint': {
      const events = result.events.map(toTrackEvent);
      await record(events);
      return { kind: result.kind, recorded: events.length, delayed: 0 };
    }
    case 'delayed':
      return { kind: result.kind, recorded: 0, delayed: result.events.length };
    default:
      return { kind: result.kind, reason: result.reason, recorded: 0, delayed: 0 };
  }
}

function toTrackEvent(e: Exclude<ReportEvent, { type: 'delayed' }>): TrackEvent {
  const details: Record<string, string> = {
    status: e.status,
    classification: e.classification,
    diagnostic: e.diagnostic,
    reportingMta: e.reportingMta,
    remoteMta: e.remoteMta,
    action: e.action,
    reportedRecipient: e.reportedRecipient,
    category: e.category,
    source: e.source,
    arrivalDate: e.arrivalDate,
  };
  // A complaint's Source-IP is our sending server and its User-Agent the reporter's software: details,
  // not the client fields a click has.
  if (e.type === 'complaint') Object.assign(details, { feedbackType: e.feedbackType, sourceIp: e.sourceIp, reporter: e.userAgent });
  for (const key of Object.keys(details)) if (details[key] === '') delete details[key];
  return {
    id: newEventId(),
    time: e.time,
    type: e.type,
    sendId: e.sendId,
    listId: e.listId,
    recipient: e.recipient,
    emailCode: e.emailCode,
    url: '',
    linkName: '',
    position: 0,
    part: '',
    ip: '',
    userAgent: '',
    machine: false,
    details,
  };
}
