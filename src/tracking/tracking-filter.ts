// The milter filter that tracks: who the message is for, its links rewritten and its pixel inserted,
// its URL rows and record stored before the verdict, X-Mailer-Info-Extra added, control headers removed.
import { randomFillSync } from 'node:crypto';
import type { FilterResult, HeaderChange, MessageContext, MessageFilter } from '../milter/filter.js';
import type { ConfigValues } from '../config/load.js';
import type { ClassSettings } from '../config/schema.js';
import { encodeInfoHeader, INFO_HEADER_NAME, type Keyring } from '../tokens/index.js';
import type { MessageRecord, TrackStore, UrlRow } from '../store/index.js';
import { planRewrite, type RewritePlan } from './plan-rewrite.js';
import { controlHeaderRemovals, listIdOf, resolveSend, type SendIdentity } from './send-context.js';
import { suppressRecipients, type Suppressed } from '../unsubscribe/suppress.js';
import { createMessageMinter } from './message-minter.js';
import type { TrackingCaches } from './tracking-caches.js';
import { inlineWork, type TrackingWork } from './tracking-work.js';
import { rewriteSettings, trackingHosts, trackingOrigin } from './settings.js';
import { mintUnsubscribeToken } from '../tokens/unsubscribe-token.js';
import { parseUnsubscribeAddress } from '../unsubscribe/mailto-reader.js';
import { oneClickUrl, planUnsubscribeHeaders, type UnsubscribeHeaderNote } from './unsubscribe-headers.js';
import { clickMapHtml, createClickMapKeeper } from './click-map-keeper.js';

/** Message record ids: random, so that two messages never share one (queue ids are reused by MTAs). */
const MESSAGE_ID_BYTES = 9;

// Ids are cut from random bytes drawn 4 KiB at a time: a call into the CSPRNG per message cost more
// than anything else done once per message. Each id is a copy, and no byte is handed out twice.
const idPool = Buffer.allocUnsafe(4096 - (4096 % MESSAGE_ID_BYTES));
let idPoolAt = idPool.length;

function newMessageId(): Buffer {
  if (idPoolAt === idPool.length) {
    randomFillSync(idPool);
    idPoolAt = 0;
  }
  const id = Buffer.from(idPool.subarray(idPoolAt, idPoolAt + MESSAGE_ID_BYTES));
  idPoolAt += MESSAGE_ID_BYTES;
  return id;
}

/** What tracking makes of one message, before anything is stored. */
export type TrackingOutcome =
  | { kind: 'reject'; reply: string; detail: string }
  | { kind: 'skip'; reason: string; detail: string; headerChanges: HeaderChange[] }
  | {
      kind: 'track';
      identity: SendIdentity;
      settings: ClassSettings;
      plan: RewritePlan;
      headerChanges: HeaderChange[];
      record: MessageRecord;
      urlRows: UrlRow[];
      /** What became of the List-Unsubscribe headers (logged). */
      unsubscribe: UnsubscribeHeaderNote;
      /** Asked for with `clickMap`: the HTML the send's click map keeps, or null when it has none. */
      clickMapHtml?: string | null;
    };

type Envelope = Pick<MessageContext, 'from' | 'recipients' | 'headers' | 'body' | 'queueId'> & { clickMap?: boolean };

/**
 * Pure apart from the random message id: the milter filter and `trackmilter rewrite` share it. `caches`
 * are what the messages of one thread share; without them, this message works everything out alone.
 */
export function prepareTracking(msg: Envelope, config: ConfigValues, keyring: Keyring, caches?: TrackingCaches): TrackingOutcome {
  const hosts = caches?.hosts ?? trackingHosts(config);
  const decision = resolveSend(msg.headers, msg, config);
  if (decision.kind === 'reject') return decision;
  if (decision.kind === 'pass') return { kind: 'skip', reason: decision.reason, detail: decision.detail, headerChanges: decision.removeHeaders };
  const { identity, settings } = decision;
  const messageId = newMessageId();
  const time = new Date();
  const origin = trackingOrigin(config, settings);
  const { recipient, sendId, listId, emailCode, recipients, mailClass } = identity;
  // One token per message, for the header and any placeholder link alike; only for one named person.
  let unsubscribeToken: string | null | undefined;
  const mintToken = (): string | null => {
    if (unsubscribeToken !== undefined) return unsubscribeToken;
    const common = { mailClass, mintedAt: time.getTime() };
    try {
      unsubscribeToken =
        listId === '' || recipients.length !== 1
          ? null
          : settings.mode === 'stateful'
            ? mintUnsubscribeToken(keyring, { kind: 'stateful', messageId, ...common })
            : mintUnsubscribeToken(keyring, { kind: 'stateless', recipient, sendId, listId, emailCode, ...common });
    } catch {
      unsubscribeToken = null; // fields no token can carry (absurd lengths): no header, placeholders left
    }
    return unsubscribeToken;
  };
  const minter = createMessageMinter({
    keyring,
    identity,
    settings,
    origin,
    messageId,
    sentAt: time.getTime(),
    trackingHosts: hosts,
    unsubscribeUrl: () => {
      const token = mintToken();
      return token === null ? null : oneClickUrl(origin, token);
    },
    ...(caches ? { rowIds: caches.rowIds } : {}),
  });
  const plan = planRewrite(msg.headers, msg.body, minter, rewriteSettings(config, settings), caches?.urlVerdicts);
  // A message passed over for a reason (signed, over a limit) is left exactly as it came.
  if (plan.skipped) return { kind: 'skip', reason: plan.skipped.code, detail: plan.skipped.detail, headerChanges: [] };
  const unsubscribe = planUnsubscribeHeaders({
    headers: msg.headers,
    policy: settings.unsubscribe,
    listId,
    recipientCount: recipients.length,
    origin,
    mailto: parseUnsubscribeAddress(config['unsubscribe.mailto']) ? config['unsubscribe.mailto'].trim() : '',
    mintToken,
  });
  return {
    kind: 'track',
    identity,
    settings,
    plan,
    headerChanges: [
      ...decision.removeHeaders,
      ...plan.headerChanges,
      { op: 'add', name: INFO_HEADER_NAME, value: encodeInfoHeader(keyring, { recipient, sendId, listId, emailCode }) },
      ...unsubscribe.changes,
    ],
    record: { id: messageId, recipients, emailCode, sendId, listId, queueId: msg.queueId, time },
    urlRows: minter.urlRows(),
    unsubscribe: unsubscribe.note,
    ...(msg.clickMap ? { clickMapHtml: clickMapHtml(msg, config, identity, settings, hosts) } : {}),
  };
}

interface TrackingFilterOptions {
  config: ConfigValues;
  keyring: Keyring;
  /** Where stateful messages keep their URL rows and record; null runs stateless classes only. */
  store: TrackStore | null;
  /** Where the CPU work runs; on this thread by default. */
  work?: TrackingWork;
  /** Told of every message with unsubscribed recipients (metrics). */
  onSuppressed?: (s: Suppressed) => void;
}

export function createTrackingFilter({ config, keyring, store, work = inlineWork(config, keyring), onSuppressed }: TrackingFilterOptions): MessageFilter {
  const clickMap = store ? createClickMapKeeper(config, store) : null;
  return {
    async endOfMessage(ctx: MessageContext, signal: AbortSignal): Promise<FilterResult> {
      // Suppression first (a store read, on this thread): the tracking work sees only who remains.
      const policy = config['unsubscribe.suppression'];
      const suppressed = store && policy !== 'off' ? await suppressRecipients(store, listIdOf(ctx.headers), ctx.recipients, policy) : null;
      if (suppressed) onSuppressed?.(suppressed);
      if (suppressed?.kept.length === 0) {
        return {
          verdict: { kind: 'discard' },
          log: { suppressed: suppressed.removed.length, listId: suppressed.listId, reason: 'all-recipients-unsubscribed' },
        };
      }
      const removal = suppressed ? suppressed.result : {};
      const envelope = suppressed ? { ...ctx, recipients: suppressed.kept } : ctx;
      // A send's first message here also brings its HTML for the click map, made with the rest of the work.
      const wantsClickMap = clickMap?.wants(envelope) ?? false;
      const { from, recipients, headers, body, queueId } = envelope;
      const outcome = await work.prepare(wantsClickMap ? { from, recipients, headers, body, queueId, clickMap: true } : envelope, signal);
      if (outcome.kind === 'reject') {
        return { verdict: { kind: 'reject', reply: outcome.reply }, log: { reason: 'invalid-msys-api', detail: outcome.detail } };
      }
      if (outcome.kind === 'skip') {
        const changes = [...outcome.headerChanges, ...(removal.headerChanges ?? [])];
        return { ...removal, headerChanges: changes, skipped: { reason: outcome.reason, detail: outcome.detail } };
      }
      if (ctx.bodyReplaceable === false) {
        // The links could not go out rewritten, and header changes made for the new body (a root part's
        // Content-Transfer-Encoding) would not match the body that does: pass it as for any skip.
        // Suppression still applies: it changes only the envelope.
        const removals = config['headers.remove_control'] ? controlHeaderRemovals(ctx.headers) : [];
        return {
          ...removal,
          headerChanges: [...removals, ...(removal.headerChanges ?? [])],
          skipped: { reason: 'body-change-not-offered', detail: 'the MTA did not offer body replacement (SMFIF_CHGBODY)' },
        };
      }
      const { settings, plan, identity } = outcome;
      // Past the budget the verdict has gone out already: nothing to store for it.
      if (signal.aborted) throw signal.reason;
      if (settings.mode === 'stateful') {
        if (!store) return { skipped: { reason: 'no-store', detail: 'a stateful class, but this process has no store' } };
        // Before the verdict: a link that reaches a recipient always has its row.
        await store.recordMessage(outcome.record, outcome.urlRows);
      }
      const overLimit = plan.limitsHit.length > 0;
      const clickMapKept = clickMap && outcome.clickMapHtml !== undefined ? await clickMap.keep(identity.sendId, outcome.clickMapHtml) : undefined;
      return {
        ...removal,
        headerChanges: [...outcome.headerChanges, ...(removal.headerChanges ?? [])],
        ...(plan.body ? { body: plan.body } : {}),
        ...(overLimit ? { limitsHit: ['max-links'] } : {}),
        log: {
          ...removal.log,
          sendId: identity.sendId,
          mode: settings.mode,
          links: plan.linkCount,
          pixel: plan.pixel,
          partsRewritten: plan.parts.filter((p) => p.changed).length,
          // Links past rewrite.max_links went out as they were.
          ...(overLimit ? { linkLimit: plan.limitsHit.map(({ part, found, maxLinks }) => ({ part, found, maxLinks })) } : {}),
          unsubscribe: outcome.unsubscribe,
          ...(clickMapKept ? { clickMap: clickMapKept } : {}),
        },
      };
    },
  };
}
