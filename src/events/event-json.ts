/**
 * The JSON shape of an event wherever it leaves the daemon: sinks (JSONL lines, webhook bodies), the feed
 * that keeps them, and `trackmilter events --format json`. One shape, so a consumer written for one
 * reads the others. This is a public format: add fields, never rename or retype one.
 *
 *   id              hex of the event's unique id (receivers drop duplicates by it)
 *   type            click | open | bounce | complaint | unsubscribe
 *   greenarrowType  GreenArrow's event name: engine_click, engine_open, bounce_bad_address (hard bounce),
 *                   bounce_all (any other bounce), scomp (complaint), engine_unsub
 *   time            ISO 8601 UTC with milliseconds
 *   sendId, listId, recipient, emailCode, url, linkName   strings, empty when not known
 *   position        the link's ordinal position in its part, 0 when not applicable
 *   part            "h" html, "t" text, "" when not applicable
 *   ip, userAgent   of the request (empty for bounces and complaints)
 *   machine         true for scanners, prefetchers, privacy proxies, HEAD requests
 *   machineReason   why machine is true; present only then (reasons comma-separated; README, "Machine or person")
 *   reclassified    true on a follow-up: an event published before (same id, every other field the same)
 *                   whose verdict later evidence changed to machine (a burst, a honeypot hit, a
 *                   person's click after a vendor's check). Receivers replace their copy (or subtract
 *                   it from their human counts); absent on first publication
 *   status, classification, diagnostic, reportingMta, remoteMta, action, reportedRecipient, category,
 *   source, arrivalDate, feedbackType, sourceIp, reporter
 *                   bounce and complaint details (strings), each present only when known (non-empty);
 *                   a complaint's sourceIp is the IP it names (our sending server), reporter its
 *                   User-Agent (the reporting software)
 */
import type { EventType, TrackEvent } from '../store/index.js';
import { EVENT_TYPES } from '../store/index.js';
import { EventsErrorCode, eventsError } from './errors.js';

/** How a bounce was classified: hard (the address is bad), soft (try later), or unknown. */
export type BounceClassification = 'hard' | 'soft' | 'unknown';

/** Details a bounce or complaint may carry beyond the stored TrackEvent. */
interface DeliveryReportDetails {
  /** Enhanced status code, e.g. "5.1.1". */
  status?: string;
  classification?: BounceClassification;
  /** The remote server's diagnostic text. */
  diagnostic?: string;
  reportingMta?: string;
  remoteMta?: string;
  /** DSN Action, e.g. "failed". */
  action?: string;
  /** The address the report names, when it differs from or fills in the recipient. */
  reportedRecipient?: string;
  /** A finer bounce category (bad mailbox, mailbox full, policy, ...) or "complaint". */
  category?: string;
  /** How the report was read: "dsn", "arf", "quoted-headers". */
  source?: string;
  /** The report's Arrival-Date as written. */
  arrivalDate?: string;
  /** ARF Feedback-Type of a complaint, e.g. "abuse". */
  feedbackType?: string;
  /** ARF Source-IP of a complaint: the sending server it names. */
  sourceIp?: string;
  /** ARF User-Agent of a complaint: the software that reported it. */
  reporter?: string;
}

/**
 * An event to publish: a stored event, whose bounce or complaint details are in `details` (as the store
 * keeps them) or already top-level fields (either is read; a top-level field wins); `reclassified` on a
 * follow-up.
 */
export type SinkEvent = TrackEvent & DeliveryReportDetails & { reclassified?: boolean };

export type GreenArrowEventType = 'engine_click' | 'engine_open' | 'bounce_bad_address' | 'bounce_all' | 'scomp' | 'engine_unsub';

/** A stored event's fields as published: the id as hex, the time as ISO 8601, and the GreenArrow name. */
export interface EventJson extends Omit<TrackEvent, 'id' | 'time' | 'details'>, DeliveryReportDetails {
  id: string;
  greenarrowType: GreenArrowEventType;
  time: string;
  reclassified?: true;
}

const DETAIL_FIELDS = [
  'status',
  'classification',
  'diagnostic',
  'reportingMta',
  'remoteMta',
  'action',
  'reportedRecipient',
  'category',
  'source',
  'arrivalDate',
  'feedbackType',
  'sourceIp',
  'reporter',
] as const;

/**
 * GreenArrow fires bounce_all for every bounce and bounce_bad_address as well for hard ones; one event
 * here carries one name, the most specific.
 */
export function greenarrowType(type: EventType, classification?: BounceClassification): GreenArrowEventType {
  switch (type) {
    case 'click':
      return 'engine_click';
    case 'open':
      return 'engine_open';
    case 'bounce':
      return classification === 'hard' ? 'bounce_bad_address' : 'bounce_all';
    case 'complaint':
      return 'scomp';
    case 'unsubscribe':
      return 'engine_unsub';
  }
}

/** The public JSON of an event; throws EEVENTS_INVALID for an event that cannot be published. */
export function toEventJson(event: SinkEvent): EventJson {
  if (!(event.id instanceof Uint8Array) || event.id.length === 0) throw invalid('event id must be non-empty bytes');
  if (!(event.time instanceof Date) || Number.isNaN(event.time.getTime())) throw invalid('event time is not a valid date');
  if (!(EVENT_TYPES as readonly string[]).includes(event.type)) throw invalid(`unknown event type ${String(event.type)}`);
  const json: EventJson = {
    id: Buffer.from(event.id.buffer, event.id.byteOffset, event.id.length).toString('hex'),
    type: event.type,
    greenarrowType: greenarrowType(event.type, detailOf(event, 'classification') as BounceClassification | undefined),
    time: event.time.toISOString(),
    sendId: event.sendId,
    listId: event.listId,
    recipient: event.recipient,
    emailCode: event.emailCode,
    url: event.url,
    linkName: event.linkName,
    position: event.position,
    part: event.part,
    ip: event.ip,
    userAgent: event.userAgent,
    machine: event.machine,
  };
  if (event.machineReason !== undefined) json.machineReason = event.machineReason;
  if (event.reclassified === true) json.reclassified = true;
  for (const field of DETAIL_FIELDS) {
    const value = detailOf(event, field);
    if (value !== undefined && value !== '') (json as unknown as Record<string, unknown>)[field] = value;
  }
  return json;
}

function detailOf(event: SinkEvent, field: (typeof DETAIL_FIELDS)[number]): string | undefined {
  return event[field] ?? event.details?.[field];
}

function invalid(message: string): Error {
  return eventsError(EventsErrorCode.INVALID, `event cannot be published: ${message}`);
}
