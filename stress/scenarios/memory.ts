/**
 * Memory under big messages: `sessions` concurrent SMTP sessions each send one message of
 * `messageMB` through Postfix into the daemon. The daemon's peak RSS (VmHWM) is compared with the
 * target from issue 8: at most 2 x the message bytes in flight + 150 MB.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { makeLinkedTextBody, makeTestMessage } from '../../test/helpers/messages.js';
import { sendMessages } from '../../test/helpers/smtp.js';
import type { Figures } from '../lib/figures.js';
import { MB, readPeakRssKb, readRssKb } from '../lib/proc.js';
import { seconds, withRig } from '../lib/rig.js';

export interface MemoryScenarioOptions {
  sessions: number;
  messageMB: number;
}

export interface MemoryScenarioResult {
  figures: Figures;
  accepted: number;
  delivered: number;
  /** Daemon "message" log lines by outcome (modified, failed, ...). */
  outcomes: Record<string, number>;
  peakRssMB: number;
  targetMB: number;
}

export async function runMemoryScenario(options: MemoryScenarioOptions): Promise<MemoryScenarioResult> {
  // smtp-sink does not keep the copies: 50 x 10 MB dumps would only cost disk and time.
  return withRig({ lab: { dumpMessages: false, defaultAction: 'tempfail' } }, async ({ daemon, lab }) => {
    const { body } = makeLinkedTextBody(options.messageMB * MB, 4242, 3);
    const bodyBytes = Buffer.from(body);
    const messages = Array.from({ length: options.sessions }, (_, i) => makeTestMessage({ id: `mem-${i}`, body: bodyBytes }));
    const messageBytes = Buffer.byteLength(messages[0]!.data);
    const idleRssKb = (await readRssKb(daemon.pid)) ?? 0;

    let sampling = true;
    let maxSampledKb = 0;
    const sampler = (async () => {
      while (sampling) {
        maxSampledKb = Math.max(maxSampledKb, (await readRssKb(daemon.pid)) ?? 0);
        await sleep(100);
      }
    })();
    const startedAt = Date.now();
    const outcomes = await sendMessages(
      lab.smtpPort,
      messages.map((m) => m.data).map((data, i) => ({ envelope: messages[i]!.envelope, data })),
      { concurrency: options.sessions, messagesPerSession: 1 },
    );
    const accepted = outcomes.filter((o) => o.accepted).length;
    const counts = await lab.waitForDeliveries(accepted, 300_000).catch(() => lab.maillogCounts());
    const finishedAt = Date.now();
    const peakKb = (await readPeakRssKb(daemon.pid)) ?? 0;
    sampling = false;
    await sampler;

    const byOutcome: Record<string, number> = {};
    for (const line of daemon.messageLogs()) byOutcome[String(line.outcome)] = (byOutcome[String(line.outcome)] ?? 0) + 1;
    const inflightMB = (options.sessions * messageBytes) / MB;
    const targetMB = 2 * inflightMB + 150;
    const peakRssMB = peakKb / 1024;
    const figures: Figures = {
      sessions: options.sessions,
      'message MB': Math.round((messageBytes / MB) * 100) / 100,
      'in-flight MB': Math.round(inflightMB),
      'idle RSS MB': Math.round(idleRssKb / 1024),
      'peak RSS MB (VmHWM)': Math.round(peakRssMB),
      'max sampled RSS MB': Math.round(maxSampledKb / 1024),
      'target MB (2 x in-flight + 150)': Math.round(targetMB),
      'peak <= target': peakRssMB <= targetMB ? 'PASS' : 'FAIL',
      'accepted (250)': accepted,
      delivered: counts.sent,
      'daemon outcomes': JSON.stringify(byOutcome),
      seconds: seconds(startedAt, finishedAt),
    };
    return { figures, accepted, delivered: counts.sent, outcomes: byOutcome, peakRssMB, targetMB };
  });
}
