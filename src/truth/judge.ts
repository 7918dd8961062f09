/**
 * The machine-or-person judge of the redirector: the request's own signals (./request-signals.ts) and
 * what the same recipient did just before (./context-rules.ts), combined by ./verdict.ts.
 *
 * Hot path: one user-agent cache lookup, one range lookup, one lookup of the recipient's recent events
 * in a bounded map, and the context rules over those few events. Events that later evidence turns into
 * machines (a burst arriving after the first click, a honeypot hit after earlier clicks, the person's
 * click after a vendor's check) are found after the response, on a later turn of the event loop, and
 * handed to `onReclassified` as copies of the recorded events with the new verdict, same id: those
 * whose verdict changed (published to sinks as follow-ups) apart from machine events that only gained
 * reasons (stored, so reports count every rule that applies, whatever order the evidence came in).
 *
 * Verdicts only ever go from person to machine: a reclassified event keeps the reasons it had and
 * gains the new ones. An event already a machine is reported again only when it was one on weak
 * reasons alone and gains a strong one (its machineReason then names the strong rule).
 *
 * Memory: at most `recipients` recipients (the least recently active are forgotten first) of at most
 * `eventsPerRecipient` events each, none older than the longest rule window. A recipient forgotten
 * early can no longer be reclassified; with the defaults that takes 50,000 other recipients clicking
 * within the 5-minute window.
 */
import { BoundedMap } from '../util/bounded-map.js';
import { detached, StringPool } from '../util/string-pool.js';
import { truncateAddress } from '../redirector/ip-address.js';
import type { LinkKind, RedirectEvent } from '../redirector/types.js';
import type { RangeTable } from './address-ranges.js';
import { contextHorizonMs, contextReasons, type ContextSettings, type SeenEvent } from './context-rules.js';
import { requestReasons, type RequestFacts, type RequestSignalSettings } from './request-signals.js';
import { userAgentReason } from './user-agents.js';
import { verdictOf, WEAK_REASONS } from './verdict.js';

export interface JudgeSettings extends ContextSettings {
  ranges: RangeTable;
  fastClickMs: number;
  earlyMs: number;
  /** Recipients whose recent events are kept. */
  recipients: number;
  eventsPerRecipient: number;
}

export interface JudgeInput extends RequestFacts {
  /** Who the event belongs to: one recipient of one message (see recipientKey). */
  recipientKey: string;
  position: number;
  part: 'h' | 't' | '';
  honeypot: boolean;
}

export interface Judged {
  machineReason: string | undefined;
  /** Keeps the recorded event, so a later verdict change can be sent with it. */
  remember(event: RedirectEvent): void;
}

interface Entry {
  seen: SeenEvent;
  ownReasons: readonly string[];
  /** The machineReason last reported for the event (recorded or in a follow-up). */
  reported: string | undefined;
  event: RedirectEvent | undefined;
  /**
   * The context reasons the event was last judged with (contextReasons gives one shared array per set
   * of reasons); undefined when they were not the rules' alone (a honeypot hit adds its own).
   */
  context: readonly string[] | undefined;
}

/** Bounded: a flood of distinct user agents cannot grow memory; real traffic repeats a few. */
const USER_AGENT_CACHE_LIMIT = 2000;
/** Networks of the events held, one string each. */
const NETWORK_STRINGS_HELD = 8192;
/** Networks whose clients (network and user agent) are kept as one string each... */
const CLIENT_NETWORKS_HELD = 2048;
/** ...and how many user agents of one network: a network past it starts its list again. */
const CLIENTS_PER_NETWORK = 16;

/** The network an address belongs to for the rules: /24 or /48. */
export function networkOf(ip: string): string {
  return truncateAddress(ip, { ipv4Bits: 24, ipv6Bits: 48 });
}

/**
 * One recipient of one message: the recipient, or the email code, or (stateful mail to several
 * recipients) the message id, and the client address when none of them is known.
 */
export function recipientKey(sendId: string, recipient: string, emailCode: string, messageId: string, ip: string): string {
  const who = recipient || emailCode || messageId ? `${recipient}\0${emailCode}\0${messageId}` : `ip:${ip}`;
  return `${sendId}\0${who}`;
}

export class MachineJudge {
  private readonly recent: BoundedMap<Entry[]>;
  private readonly uaCache = new BoundedMap<[string, string]>(USER_AGENT_CACHE_LIMIT);
  private readonly networks = new StringPool(NETWORK_STRINGS_HELD);
  /** Client strings by network, then user agent (see clientOf). */
  private readonly clients = new BoundedMap<Map<string, string>>(CLIENT_NETWORKS_HELD);
  private readonly horizonMs: number;
  private readonly dirty = new Set<string>();
  /**
   * The context reasons judge() found for a recipient's events, kept for flush(): it needs the same,
   * unless more events came in between (then it runs the rules again).
   */
  private readonly computed = new Map<string, { events: SeenEvent[]; context: ReadonlyArray<readonly string[]> }>();
  private flushScheduled = false;
  /** What the request rules read, made once rather than per event. */
  private readonly signals: RequestSignalSettings;
  /** Histories that hit eventsPerRecipient (their oldest events dropped): on /metrics. */
  historyOverflows = 0;

  /** Recipients whose recent events are held now (at most `recipients`): on /metrics. */
  get recipientsHeld(): number {
    return this.recent.size;
  }

  constructor(
    private readonly s: JudgeSettings,
    private readonly onReclassified: (changed: RedirectEvent[], amended: RedirectEvent[]) => void,
  ) {
    this.recent = new BoundedMap(s.recipients);
    this.horizonMs = Math.max(contextHorizonMs(s), s.earlyMs);
    this.signals = { ranges: s.ranges, userAgentReason: this.cachedUserAgentReason, fastClickMs: s.fastClickMs, earlyMs: s.earlyMs };
  }

  judge(input: JudgeInput): Judged {
    const own = requestReasons(input, this.signals);
    // Kept with every event for minutes: one string per network and per client, not one per click.
    const network = this.networks.intern(networkOf(input.ip));
    const seen: SeenEvent = {
      time: input.now,
      kind: input.kind,
      position: input.position,
      part: input.part,
      honeypot: input.honeypot,
      network,
      client: this.clientOf(network, input.userAgent),
      requestMachine: verdictOf(own) !== undefined,
    };
    const history = this.history(input.recipientKey, input.now);
    const at = insertionPoint(history, seen.time);
    const events = withInserted(history, at, seen);
    const all = contextReasons(events, this.s);
    const context = all[at]!;
    // A person's event gets the rules' shared empty list (withContext), not one of its own.
    const reasons = withContext(own, input.honeypot ? ['honeypot', ...context] : context);
    const machineReason = verdictOf(reasons);
    return {
      machineReason,
      remember: (event) => {
        const list = this.history(input.recipientKey, input.now);
        list.splice(insertionPoint(list, seen.time), 0, {
          seen,
          ownReasons: reasons,
          reported: machineReason,
          event,
          context: input.honeypot ? undefined : context,
        });
        if (list.length > this.s.eventsPerRecipient) {
          list.splice(0, list.length - this.s.eventsPerRecipient);
          this.historyOverflows += 1;
        }
        this.computed.set(input.recipientKey, { events, context: all });
        this.markDirty(input.recipientKey);
      },
    };
  }

  /**
   * The verdict of a request on its own signals, remembering nothing: for requests that are not a
   * recipient's clicks and opens (an unsubscribe POST).
   */
  requestVerdict(facts: RequestFacts): string | undefined {
    return verdictOf(requestReasons(facts, this.signals));
  }

  /** Finds verdict changes now rather than on the next turn (tests, shutdown). */
  flush(): void {
    this.flushScheduled = false;
    const changed: RedirectEvent[] = [];
    const amended: RedirectEvent[] = [];
    for (const key of this.dirty) {
      const list = this.recent.peek(key);
      if (!list) continue;
      const known = this.computed.get(key);
      const context =
        known && sameEvents(list, known.events)
          ? known.context
          : contextReasons(
              list.map((e) => e.seen),
              this.s,
            );
      list.forEach((entry, i) => {
        if (!entry.event) return;
        // The same context as last time gives the same verdict: with many recipients each click
        // leaves a whole history dirty, and nearly all of it unchanged.
        const now = context[i]!;
        if (entry.context === now) return;
        entry.context = now;
        const reasons = withContext(entry.ownReasons, now);
        const verdict = verdictOf(reasons);
        if (verdict === undefined || verdict === entry.reported) return;
        const flipped = entry.reported === undefined || onlyWeak(entry.reported);
        entry.reported = verdict;
        entry.ownReasons = reasons;
        (flipped ? changed : amended).push({ ...entry.event, machine: true, machineReason: verdict });
      });
    }
    this.dirty.clear();
    this.computed.clear();
    if (changed.length > 0 || amended.length > 0) this.onReclassified(changed, amended);
  }

  private readonly cachedUserAgentReason = (userAgent: string, kind: LinkKind): string | undefined => {
    const [click, open] = this.uaCache.getOrAdd(userAgent, reasonsOfUserAgent);
    return (kind === 'click' ? click : open) || undefined;
  };

  /**
   * One string for the client, network and user agent, found by the two strings it is made of: both
   * come pooled (the network here, the user agent by the redirector), so neither is hashed again. A
   * pool of the joined strings had to build, flatten and hash a new string of some 150 characters per
   * click. The string is kept with the events for minutes, so it is a copy of its own.
   */
  private clientOf(network: string, userAgent: string): string {
    let byAgent = this.clients.get(network);
    if (byAgent === undefined) {
      byAgent = new Map();
      this.clients.set(network, byAgent);
    }
    let client = byAgent.get(userAgent);
    if (client === undefined) {
      if (byAgent.size >= CLIENTS_PER_NETWORK) byAgent.clear();
      client = detached(`${network}\n${userAgent}`);
      byAgent.set(detached(userAgent), client);
    }
    return client;
  }

  /** The recipient's kept events, pruned to the horizon; created (and kept) when missing. */
  private history(key: string, now: number): Entry[] {
    let list = this.recent.get(key);
    if (!list) {
      list = [];
      this.recent.set(key, list);
      return list;
    }
    let stale = 0;
    while (stale < list.length && now - list[stale]!.seen.time > this.horizonMs) stale++;
    if (stale > 0) list.splice(0, stale);
    return list;
  }

  private markDirty(key: string): void {
    this.dirty.add(key);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }
}

/** A user agent's reason as a click and as an open ('' for none), worked out once per agent. */
function reasonsOfUserAgent(userAgent: string): [string, string] {
  return [userAgentReason(userAgent, 'click') ?? '', userAgentReason(userAgent, 'open') ?? ''];
}

/** The order context reasons are written in, whatever order the evidence came in. */
const CONTEXT_ORDER = ['honeypot', 'burst', 'time-of-click', 'scan-network', 'no-open'];

/** Request reasons as they were, then every context reason known, in CONTEXT_ORDER. */
function withContext(own: readonly string[], context: readonly string[]): readonly string[] {
  // Most events: no request reason and at most one context reason, already a shared frozen list.
  if (own.length === 0 && context.length <= 1) return context;
  const out = own.filter((r) => !CONTEXT_ORDER.includes(r));
  for (const r of CONTEXT_ORDER) if (own.includes(r) || context.includes(r)) out.push(r);
  return out;
}

/** The events of a recipient's history with `seen` at `at`, in one list of the right length. */
function withInserted(history: readonly Entry[], at: number, seen: SeenEvent): SeenEvent[] {
  const events = new Array<SeenEvent>(history.length + 1);
  for (let i = 0; i < at; i++) events[i] = history[i]!.seen;
  events[at] = seen;
  for (let i = at; i < history.length; i++) events[i + 1] = history[i]!.seen;
  return events;
}

/** Whether the recipient's kept events are still those the rules last ran over. */
function sameEvents(list: readonly Entry[], events: readonly SeenEvent[]): boolean {
  if (list.length !== events.length) return false;
  for (let i = 0; i < list.length; i++) if (list[i]!.seen !== events[i]) return false;
  return true;
}

/** A machineReason made of weak reasons only: a later strong reason replaces it (README, follow-ups). */
function onlyWeak(machineReason: string): boolean {
  return machineReason.split(',').every((r) => WEAK_REASONS.has(r));
}

/** Where an event at `time` goes in a time-ordered list (after events of the same time). */
function insertionPoint(list: readonly { seen: SeenEvent }[] | readonly SeenEvent[], time: number): number {
  let i = list.length;
  while (i > 0) {
    const prev = list[i - 1]!;
    const t = 'seen' in prev ? prev.seen.time : prev.time;
    if (t <= time) break;
    i--;
  }
  return i;
}
