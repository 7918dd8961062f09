/**
 * SIGKILL during load: the daemon is killed every few seconds and restarted while messages flow,
 * with milter_default_action tempfail or accept. Whatever Postfix answered 250 to must be delivered
 * exactly once; with tempfail every delivered copy is tracked, with accept the ones that passed
 * while the daemon was down are untracked but intact. Nothing refused may be delivered (the
 * client would send it again: a duplicate).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Figures } from '../lib/figures.js';
import { KillLoop, type KillRecord, type KillSchedule } from '../lib/kill-loop.js';
import { accountDeliveries, buildLoadMessages, milterTrouble, sendRound, type DeliveryAccount, type MilterTrouble } from '../lib/load.js';
import { seconds, withRig } from '../lib/rig.js';

export interface KillScenarioOptions {
  count: number;
  defaultAction: 'tempfail' | 'accept';
  kills: KillSchedule;
}

export interface KillScenarioResult {
  figures: Figures;
  account: DeliveryAccount;
  trouble: MilterTrouble;
  kills: KillRecord[];
}

export async function runKillScenario(options: KillScenarioOptions): Promise<KillScenarioResult> {
  const { defaultAction } = options;
  return withRig({ lab: { defaultAction } }, async ({ daemon, lab }) => {
    const messages = buildLoadMessages(`kill-${defaultAction}`, options.count, defaultAction === 'tempfail' ? 2 : 3);
    const killer = new KillLoop(daemon, options.kills);
    // The kills stop once 80% of the messages were accepted, so that the rest shows the daemon
    // tracking again after the last kill. Refused messages are sent again after a short back-off,
    // as an injector retries a 4xx; a refusal is not progress (with tempfail they come fast while
    // the daemon is down, and would otherwise use up the round before the next kill).
    let accepted = 0;
    const round = await sendRound(lab, messages, {
      attempts: 10,
      backoffMs: 200,
      onOutcome: (outcome) => {
        if (!outcome.accepted) return;
        killer.progress();
        if (++accepted >= options.count * 0.8) killer.halt();
      },
    });
    const kills = await killer.stop();
    // If the round ended before the restarted daemon tracked a message (the restart can take longer
    // than the last messages), probes go one by one until it does: that outage's end is then real.
    const probes = buildLoadMessages(`kill-${defaultAction}-probe`, 100, 9);
    let probesSent = 0;
    while (kills.some((kill) => kill.firstTrackedAt === undefined) && probesSent < probes.length) {
      await sendRound(lab, [probes[probesSent++]!], { concurrency: 1 });
      await sleep(100);
      killer.resolveRecoveries();
    }
    const account = await accountDeliveries(lab, daemon, messages, round, { tracking: defaultAction === 'tempfail' ? 'all' : 'some' });
    const trouble = await milterTrouble(lab);
    const restartMs = kills.map((kill) => kill.readyAt - kill.killedAt);
    const recoveryMs = kills.map((kill) => (kill.firstTrackedAt === undefined ? -1 : kill.firstTrackedAt - kill.killedAt));
    const figures: Figures = {
      messages: options.count,
      milter_default_action: defaultAction,
      kills: kills.length,
      'send seconds': seconds(round.startedAt, round.finishedAt),
      'accepted (250)': account.accepted,
      'refusals (4xx, retried)': account.refusals,
      'never accepted': account.refused,
      'refused by stage/code': JSON.stringify(account.refusedByCode),
      deliveries: account.delivered,
      'lost (250 but not delivered)': account.lost.length,
      duplicated: account.duplicated.length,
      'delivered although refused': account.deliveredAfterRefusal.length,
      tracked: account.tracked,
      'untracked (passed while down)': account.untracked,
      verified: account.verified,
      'verify problems': account.problems.length,
      'milter deferrals (queue)': trouble.milterDeferrals,
      'restart ms (kill -> ready)': restartMs,
      'recovery ms (kill -> first tracked)': recoveryMs,
      'probes sent after the round': probesSent,
    };
    return { figures, account, trouble, kills };
  });
}
