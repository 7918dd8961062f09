/**
 * Load: N messages through Postfix over 50 concurrent sessions into the real daemon. Nothing may
 * be deferred or refused because of the milter, everything is delivered once, every 10th message is
 * verified as correctly rewritten, and the daemon's RSS is sampled every `rssEvery` messages (a
 * growing series would be a leak).
 */
import type { Figures } from '../lib/figures.js';
import { accountDeliveries, buildLoadMessages, milterTrouble, sendRound, type DeliveryAccount, type MilterTrouble } from '../lib/load.js';
import { readRssKb } from '../lib/proc.js';
import { seconds, withRig } from '../lib/rig.js';

export interface LoadScenarioOptions {
  count: number;
  concurrency?: number;
  /** Sample the daemon's RSS after every this many accepted messages (default: count / 10). */
  rssEvery?: number;
}

export interface LoadScenarioResult {
  figures: Figures;
  account: DeliveryAccount;
  trouble: MilterTrouble;
  rssSeriesMb: number[];
}

export async function runLoadScenario(options: LoadScenarioOptions): Promise<LoadScenarioResult> {
  const concurrency = options.concurrency ?? 50;
  const rssEvery = options.rssEvery ?? Math.max(1, Math.floor(options.count / 10));
  return withRig({ lab: { defaultAction: 'tempfail' } }, async ({ daemon, lab }) => {
    const messages = buildLoadMessages('load', options.count);
    const rssSamples: Array<Promise<number | undefined>> = [readRssKb(daemon.pid)];
    let accepted = 0;
    const round = await sendRound(lab, messages, {
      concurrency,
      onOutcome: (outcome) => {
        if (outcome.accepted && ++accepted % rssEvery === 0) rssSamples.push(readRssKb(daemon.pid));
      },
    });
    const account = await accountDeliveries(lab, daemon, messages, round, { tracking: 'all' });
    const deliveredAt = Date.now();
    const trouble = await milterTrouble(lab);
    const rssSeriesMb = (await Promise.all(rssSamples)).map((kb) => Math.round((kb ?? 0) / 1024));
    const sendSeconds = seconds(round.startedAt, round.finishedAt);
    const figures: Figures = {
      messages: options.count,
      sessions: concurrency,
      'accepted (250)': account.accepted,
      refused: account.refused,
      'send seconds': sendSeconds,
      'msg/s accepted': Math.round((account.accepted / sendSeconds) * 10) / 10,
      'msg/s to delivery': Math.round((account.delivered / seconds(round.startedAt, deliveredAt)) * 10) / 10,
      deliveries: account.delivered,
      'milter deferrals': trouble.milterDeferrals,
      'milter rejects': trouble.milterRejects,
      'deferred (any)': trouble.deferred,
      lost: account.lost.length,
      duplicated: account.duplicated.length,
      untracked: account.untracked,
      verified: account.verified,
      'verify problems': account.problems.length,
      [`RSS MB every ${rssEvery}`]: rssSeriesMb,
      'RSS growth MB (2nd sample to last)': rssGrowthMb(rssSeriesMb),
    };
    return { figures, account, trouble, rssSeriesMb };
  });
}

/**
 * Growth from the second sample (the first is the idle daemon, before any warm-up) to the mean of
 * the last three: noise-tolerant enough to read, not a verdict on its own.
 */
export function rssGrowthMb(series: number[]): number {
  if (series.length < 3) return 0;
  const tail = series.slice(-3);
  return Math.round(tail.reduce((a, b) => a + b, 0) / tail.length - series[1]!);
}
