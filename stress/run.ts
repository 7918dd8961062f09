/**
 * Full stress runs: `tsx stress/run.ts [all | load | kills | disk | store | webhook | memory | mixed | soak | soak-capped]...`
 * (`all`, the default, is every one but the soaks).
 * Each prints its figures as a table, writes them to stress/out/<name>.json, and lists the
 * invariants it broke (mail or events lost, duplicates, refusals...); the exit code is 1 if any
 * was. Needs root, Postfix and smtp-sink (see test/helpers/postfix-lab.ts) and a built dist/.
 */
import { daemonUnavailableReason } from '../test/helpers/daemon.js';
import { postfixLabUnavailableReason } from '../test/helpers/postfix-lab.js';
import { publishFigures, type Figures } from './lib/figures.js';
import { runDamagedStoreScenario } from './scenarios/damaged-store.js';
import { runFullDiskScenario } from './scenarios/full-disk.js';
import { runKillScenario } from './scenarios/kills.js';
import { runLoadScenario } from './scenarios/load.js';
import { runMemoryScenario } from './scenarios/memory.js';
import { runMixedScenario } from './scenarios/mixed.js';
import { runWebhookScenario } from './scenarios/webhook.js';

interface Outcome {
  name: string;
  title: string;
  figures: Figures;
  /** Invariants broken, in words; empty when all held. */
  broken: string[];
}

/** Adds `what` to `broken` when `ok` is false. */
function check(broken: string[], ok: boolean, what: string): void {
  if (!ok) broken.push(what);
}

const SCENARIOS: Record<string, () => Promise<Outcome[]>> = {
  async load() {
    const { figures, account, trouble } = await runLoadScenario({ count: 10_000, rssEvery: 1_000 });
    const broken: string[] = [];
    check(broken, account.refused === 0, `${account.refused} refused`);
    check(broken, trouble.milterDeferrals === 0 && trouble.milterRejects === 0, 'milter deferrals or rejects');
    check(broken, account.lost.length === 0 && account.delivered === 10_000, `${account.lost.length} lost`);
    check(broken, account.duplicated.length === 0, `${account.duplicated.length} duplicated`);
    check(broken, account.untracked === 0, `${account.untracked} untracked`);
    check(broken, account.problems.length === 0, `verify problems: ${account.problems.slice(0, 5).join('; ')}`);
    return [{ name: 'load', title: 'load: 10,000 messages, 50 sessions', figures, broken }];
  },

  /** Not in `all`: a longer load to tell a leak from caches filling up (they are bounded). */
  async soak() {
    const { figures, account } = await runLoadScenario({ count: 30_000, rssEvery: 1_000 });
    const broken: string[] = [];
    check(broken, account.lost.length === 0 && account.refused === 0, `${account.lost.length} lost, ${account.refused} refused`);
    return [{ name: 'soak', title: 'soak: 30,000 messages, 50 sessions, RSS every 1,000', figures, broken }];
  },

  /**
   * Not in `all`: the soak with the daemon's V8 old space capped at 64 MB (NODE_OPTIONS, which the
   * daemon inherits when spawned). If the RSS growth of the soak were live JavaScript objects, the
   * daemon would die of heap exhaustion here (refusals, lost tracking); if it only is the heap growing
   * because it may, RSS stays lower and flat.
   */
  async 'soak-capped'() {
    const saved = process.env.NODE_OPTIONS;
    process.env.NODE_OPTIONS = `${saved ?? ''} --max-old-space-size=64`.trim();
    try {
      const { figures, account } = await runLoadScenario({ count: 20_000, rssEvery: 1_000 });
      const broken: string[] = [];
      check(
        broken,
        account.lost.length === 0 && account.refused === 0 && account.untracked === 0,
        `${account.lost.length} lost, ${account.refused} refused, ${account.untracked} untracked`,
      );
      return [
        {
          name: 'soak-capped',
          title: 'soak: 20,000 messages, daemon old space capped at 64 MB',
          figures: { ...figures, 'daemon NODE_OPTIONS': process.env.NODE_OPTIONS },
          broken,
        },
      ];
    } finally {
      if (saved === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = saved;
    }
  },

  async kills() {
    const outcomes: Outcome[] = [];
    for (const defaultAction of ['tempfail', 'accept'] as const) {
      const { figures, account, trouble, kills } = await runKillScenario({ count: 10_000, defaultAction, kills: { everyMs: 3_000 } });
      const broken: string[] = [];
      check(broken, account.lost.length === 0, `${account.lost.length} lost`);
      check(broken, account.duplicated.length === 0, `${account.duplicated.length} duplicated`);
      check(broken, account.deliveredAfterRefusal.length === 0, `${account.deliveredAfterRefusal.length} delivered although refused`);
      check(
        broken,
        Object.keys(account.refusedByCode).every((key) => / 4\d\d$/.test(key)),
        `refusals other than 4xx: ${JSON.stringify(account.refusedByCode)}`,
      );
      check(broken, defaultAction === 'accept' || account.untracked === 0, `${account.untracked} untracked with tempfail`);
      check(broken, account.problems.length === 0, `verify problems: ${account.problems.slice(0, 5).join('; ')}`);
      check(broken, trouble.milterDeferrals === 0, 'milter deferrals in the queue');
      check(
        broken,
        kills.every((kill) => kill.firstTrackedAt !== undefined),
        'an outage without recovery',
      );
      outcomes.push({
        name: `kills-${defaultAction}`,
        title: `SIGKILL every 3 s during 10,000 messages, milter_default_action = ${defaultAction}`,
        figures,
        broken,
      });
    }
    return outcomes;
  },

  async disk() {
    const result = await runFullDiskScenario({ perPhase: 100 });
    if ('skipped' in result) return [{ name: 'full-disk', title: 'full disk (skipped)', figures: { skipped: result.skipped }, broken: [] }];
    const broken: string[] = [];
    check(broken, result.during.lost.length === 0 && result.during.accepted === 100, 'mail lost or refused while the disk was full');
    check(broken, result.during.problems.length === 0, 'mail changed while the disk was full');
    check(
      broken,
      result.failedCodes.every((code) => code.startsWith('ESTORE_')),
      'failures without a store error code',
    );
    check(
      broken,
      result.clicksWhileFull.every((c) => c.status === 302 && c.location === c.expected),
      'earlier links did not redirect while full',
    );
    check(broken, result.trackingResumedAfterMs !== undefined && result.after.tracked === 100, 'tracking did not resume after freeing space');
    check(broken, result.lostEvents.length === 0, `${result.lostEvents.length} acknowledged events lost`);
    return [{ name: 'full-disk', title: 'data directory on a full 2 MB tmpfs, 100 messages a phase', figures: result.figures, broken }];
  },

  async store() {
    const { figures, cases, oldLinkAfterFreshStart } = await runDamagedStoreScenario();
    const broken: string[] = [];
    for (const c of cases) {
      if (c.expect === 'refuse') check(broken, c.namesCodeAndDir, `${c.name}: not an ESTORE_CORRUPT exit naming the directory`);
      else check(broken, c.attempt.outcome === 'ready' && oldLinkAfterFreshStart === 404, `${c.name}: did not start fresh`);
    }
    return [{ name: 'damaged-store', title: 'damaged or deleted store at start', figures, broken }];
  },

  async webhook() {
    const { figures, phases, clicksMade, eventsDelivered } = await runWebhookScenario({ phaseMs: 20_000, drainTimeoutMs: 300_000 });
    const broken: string[] = [];
    for (const phase of phases)
      check(broken, phase.redirected === phase.clicks, `receiver ${phase.mode}: ${phase.clicks - phase.redirected} clicks not redirected`);
    check(broken, eventsDelivered === clicksMade, `${clicksMade - eventsDelivered} click events lost`);
    return [{ name: 'webhook', title: 'webhook receiver healthy, 500, hanging (20 s each)', figures, broken }];
  },

  async memory() {
    const { figures, accepted, delivered, peakRssMB, targetMB } = await runMemoryScenario({ sessions: 50, messageMB: 10 });
    const broken: string[] = [];
    check(broken, accepted === 50 && delivered === 50, 'big messages refused or not delivered');
    check(broken, peakRssMB <= targetMB, `peak RSS ${Math.round(peakRssMB)} MB over the target ${Math.round(targetMB)} MB`);
    return [{ name: 'memory', title: 'memory: 50 sessions x 10 MB', figures, broken }];
  },

  /** Clicks while 10 MB messages and newsletters flow; the message work on the worker pool (the default). */
  async mixed() {
    const { figures, badClicks, accepted, refused, outcomes } = await runMixedScenario({ seconds: 30, newsletterSenders: 4, clickers: 16 });
    const broken: string[] = [];
    check(broken, badClicks === 0, `${badClicks} clicks not redirected to the link's destination`);
    check(broken, refused === 0, `${refused} messages refused`);
    check(broken, accepted.big > 0 && accepted.newsletters > 0, 'big messages or newsletters did not get through');
    check(
      broken,
      Object.keys(outcomes).every((o) => o === 'modified'),
      `message outcomes other than modified: ${JSON.stringify(outcomes)}`,
    );
    return [{ name: 'mixed', title: 'mixed: 10 MB messages, 4 newsletter senders and 16 clickers, 30 s', figures, broken }];
  },
};

async function main(): Promise<number> {
  const unavailable = postfixLabUnavailableReason() ?? daemonUnavailableReason();
  if (unavailable) {
    console.error(`stress: cannot run: ${unavailable}`);
    return 2;
  }
  const asked = process.argv.slice(2);
  const names = asked.length === 0 || asked.includes('all') ? Object.keys(SCENARIOS).filter((name) => !name.startsWith('soak')) : asked;
  const unknown = names.filter((name) => !(name in SCENARIOS));
  if (unknown.length > 0) {
    console.error(`stress: unknown scenario ${unknown.join(', ')}; choose from all, ${Object.keys(SCENARIOS).join(', ')}`);
    return 2;
  }
  const broken: string[] = [];
  for (const name of names) {
    for (const outcome of await SCENARIOS[name]!()) {
      const file = await publishFigures(outcome.name, outcome.title, {
        ...outcome.figures,
        'invariants broken': outcome.broken.length === 0 ? 'none' : outcome.broken,
      });
      console.log(`  -> ${file}\n`);
      broken.push(...outcome.broken.map((what) => `${outcome.name}: ${what}`));
    }
  }
  if (broken.length > 0) console.error(`stress: broken invariants:\n  ${broken.join('\n  ')}`);
  return broken.length > 0 ? 1 : 0;
}

process.exitCode = await main();
