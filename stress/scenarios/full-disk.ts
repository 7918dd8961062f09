/**
 * The data directory on a full filesystem (a 2 MB tmpfs filled to the last block). With the default
 * milter.on_error = accept, every message still passes (unchanged, logged "failed" with a store
 * error code) and none is lost; links in mail sent before the disk filled still redirect; once
 * space is freed, tracking resumes; every click acknowledged before the disk filled is still in the
 * store afterwards.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { TrackmilterDaemon } from '../../test/helpers/daemon.js';
import { testIdOf } from '../../test/helpers/delivery.js';
import { pollUntil } from '../../test/helpers/net.js';
import type { DeliveredMessage, PostfixLab } from '../../test/helpers/postfix-lab.js';
import { click, storedEvents, trackedLinks } from '../lib/events.js';
import type { Figures } from '../lib/figures.js';
import { accountDeliveries, buildLoadMessages, sendRound, type DeliveryAccount, type LoadMessage } from '../lib/load.js';
import { withRig } from '../lib/rig.js';
import { SmallTmpfs } from '../lib/tmpfs.js';

export interface FullDiskOptions {
  /** Messages per phase (before, during, after the disk is full). */
  perPhase: number;
}

export interface FullDiskResult {
  figures: Figures;
  before: DeliveryAccount;
  during: DeliveryAccount;
  after: DeliveryAccount;
  /** Store error codes of the messages logged "failed" while the disk was full. */
  failedCodes: string[];
  /** Redirect statuses of clicks on pre-fill links while the disk was full. */
  clicksWhileFull: Array<{ status: number; expected: string; location: string | null }>;
  acknowledgedBefore: number;
  /** Clicks acknowledged before the disk filled and missing from the store at the end. */
  lostEvents: string[];
  /** Clicks made after space was freed that reached the store. */
  recordedAfterFree: number;
  clicksAfterFree: number;
  trackingResumedAfterMs: number | undefined;
}

const pathOf = (url: string) => url.split('?')[0]!;

async function phase(lab: PostfixLab, daemon: TrackmilterDaemon, messages: LoadMessage[]): Promise<DeliveryAccount> {
  // Whatever an earlier step sent (the probes) must be delivered before the dumps are cleared.
  await pollUntil('an empty Postfix queue', async () => ((await lab.queueSize()) === 0 ? true : undefined), 30_000);
  await lab.clearDeliveredMessages();
  const round = await sendRound(lab, messages, { concurrency: 5, messagesPerSession: 5 });
  return accountDeliveries(lab, daemon, messages, round, { tracking: 'some', verifyEvery: 1, timeoutMs: 60_000 });
}

/** Clicks the `nth` tracked link (0-based) of each delivered copy; returns what the redirector said. */
async function clickEach(daemon: TrackmilterDaemon, copies: DeliveredMessage[], messages: LoadMessage[], nth: number) {
  const origin = `http://127.0.0.1:${daemon.httpPort}`;
  const byId = new Map(messages.map((m) => [m.id, m]));
  const results: Array<{ status: number; expected: string; location: string | null }> = [];
  for (const copy of copies) {
    const sent = byId.get(testIdOf(copy) ?? '');
    const link = trackedLinks(copy.body, origin)[nth];
    if (!sent || !link) continue;
    const answer = await click(link);
    results.push({ status: answer.status, expected: sent.links[nth]!, location: answer.location });
  }
  return results;
}

/**
 * After space is freed: sends a probe message every half second until the daemon tracks one again.
 * Resolves with the time from `freedAt`, or undefined if it did not within `timeoutMs`.
 */
async function waitForTracking(lab: PostfixLab, daemon: TrackmilterDaemon, freedAt: number, timeoutMs = 20_000): Promise<number | undefined> {
  const probes = buildLoadMessages('disk-probe', 100, 19);
  for (let k = 0; Date.now() - freedAt < timeoutMs && k < probes.length; k++) {
    await sendRound(lab, [probes[k]!], { concurrency: 1 });
    const tracked = daemon
      .messageLogs()
      .map((line) => ({ outcome: line.outcome, time: Date.parse(String(line.time)) }))
      .find((line) => line.outcome === 'modified' && line.time >= freedAt);
    if (tracked) return tracked.time - freedAt;
    await sleep(500);
  }
  return undefined;
}

export async function runFullDiskScenario(options: FullDiskOptions): Promise<FullDiskResult | { skipped: string }> {
  const tmpfs = await SmallTmpfs.mount('2m');
  if (typeof tmpfs === 'string') return { skipped: tmpfs };
  try {
    return await withRig({ daemon: { dataDir: tmpfs.dir }, lab: { defaultAction: 'tempfail' } }, async ({ daemon, lab }) => {
      const [beforeMessages, duringMessages, afterMessages] = [1, 2, 3].map((n) => buildLoadMessages(`disk${n}`, options.perPhase, 10 + n));

      const before = await phase(lab, daemon, beforeMessages!);
      const beforeCopies = await lab.readDeliveredMessages();
      const acknowledged = (await clickEach(daemon, beforeCopies, beforeMessages!, 0)).filter((c) => c.status === 302 && c.location === c.expected);

      const filledBytes = await tmpfs.fill();
      const logsBefore = daemon.messageLogs().length;
      const during = await phase(lab, daemon, duringMessages!);
      const failedCodes = daemon
        .messageLogs()
        .slice(logsBefore)
        .filter((line) => line.outcome === 'failed')
        .map((line) => String(line.code));
      // The second link of the mail sent before, so that these clicks are told apart from the acknowledged ones.
      const clicksWhileFull = await clickEach(daemon, beforeCopies, beforeMessages!, 1);

      await tmpfs.free();
      const freedAt = Date.now();
      const trackingResumedAfterMs = await waitForTracking(lab, daemon, freedAt);
      const after = await phase(lab, daemon, afterMessages!);
      const clicksAfter = (await clickEach(daemon, await lab.readDeliveredMessages(), afterMessages!, 0)).filter((c) => c.status === 302);

      await sleep(500);
      const events = (await storedEvents(daemon)).filter((e) => e.type === 'click');
      const storedPaths = new Set(events.map((e) => pathOf(String(e.url))));
      const lostEvents = acknowledged.filter((c) => !storedPaths.has(pathOf(c.expected))).map((c) => c.expected);
      const recordedAfterFree = clicksAfter.filter((c) => storedPaths.has(pathOf(c.expected))).length;

      const figures: Figures = {
        'messages per phase': options.perPhase,
        'filler bytes (disk full)': filledBytes,
        'before: accepted/delivered/tracked': `${before.accepted}/${before.delivered}/${before.tracked}`,
        'full: accepted/delivered/untouched': `${during.accepted}/${during.delivered}/${during.untracked}`,
        'full: lost': during.lost.length,
        'full: verify problems': during.problems.length,
        'full: logged failed (codes)': [...new Set(failedCodes)].map((code) => `${code} x${failedCodes.filter((c) => c === code).length}`),
        'full: clicks on earlier links redirected': `${clicksWhileFull.filter((c) => c.status === 302 && c.location === c.expected).length}/${clicksWhileFull.length}`,
        'full: those clicks in the store (by design may be 0)': `${clicksWhileFull.filter((c) => storedPaths.has(pathOf(c.expected))).length}/${clicksWhileFull.length}`,
        'freed: tracking resumed after ms': trackingResumedAfterMs ?? -1,
        'after: accepted/delivered/tracked': `${after.accepted}/${after.delivered}/${after.tracked}`,
        'acknowledged events before fill': acknowledged.length,
        'acknowledged events lost': lostEvents.length,
        'clicks after free recorded': `${recordedAfterFree}/${clicksAfter.length}`,
      };
      return {
        figures,
        before,
        during,
        after,
        failedCodes,
        clicksWhileFull,
        acknowledgedBefore: acknowledged.length,
        lostEvents,
        recordedAfterFree,
        clicksAfterFree: clicksAfter.length,
        trackingResumedAfterMs,
      };
    });
  } finally {
    await tmpfs.unmount();
  }
}
