/**
 * A webhook receiver that answers 500, then hangs, during a run of clicks: the redirects must stay
 * prompt (p99 compared with a healthy receiver), and once the receiver is back every click made
 * reaches it (events delivered compared with clicks made; duplicates by id are allowed, losses not).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TrackmilterDaemon } from '../../test/helpers/daemon.js';
import { buildNewsletter, pairClicks, readRewritten } from '../../test/app/helpers/newsletter.js';
import { sendThroughMilter } from '../../test/app/helpers/traffic.js';
import { click } from '../lib/events.js';
import { quantile, type Figures } from '../lib/figures.js';
import { WebhookReceiver, type ReceiverMode } from '../lib/webhook-receiver.js';

export interface WebhookScenarioOptions {
  /** How long the receiver is healthy, failing, hanging (each), ms: long enough for several webhook attempts. */
  phaseMs: number;
  /** Concurrent clickers, each clicking every `pauseMs`. */
  pauseMs?: number;
  concurrency?: number;
  /** How long to wait, once the receiver is back, for every event. */
  drainTimeoutMs?: number;
}

export interface PhaseLatency {
  mode: ReceiverMode;
  clicks: number;
  redirected: number;
  p50: number;
  p99: number;
  max: number;
}

export interface WebhookScenarioResult {
  figures: Figures;
  phases: PhaseLatency[];
  clicksMade: number;
  eventsDelivered: number;
  /** Webhook requests the receiver answered 200, answered 500, left hanging. */
  requests: Record<ReceiverMode, number>;
  drainMs: number | undefined;
}

/** `concurrency` clickers click the links in turn for `durationMs`; the latency of each click. */
async function clickPhase(
  mode: ReceiverMode,
  links: Array<{ link: string; original: string }>,
  durationMs: number,
  concurrency: number,
  pauseMs: number,
): Promise<PhaseLatency> {
  const latencies: number[] = [];
  let redirected = 0;
  let next = 0;
  const until = Date.now() + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) {
        const target = links[next++ % links.length]!;
        const answer = await click(target.link);
        latencies.push(answer.ms);
        if (answer.status === 302 && answer.location === target.original) redirected++;
        await sleep(pauseMs);
      }
    }),
  );
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    mode,
    clicks: latencies.length,
    redirected,
    p50: round(quantile(latencies, 0.5)),
    p99: round(quantile(latencies, 0.99)),
    max: round(Math.max(...latencies)),
  };
}

export async function runWebhookScenario(options: WebhookScenarioOptions): Promise<WebhookScenarioResult> {
  const concurrency = options.concurrency ?? 10;
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'trackmilter-webhook-'));
  const receiver = new WebhookReceiver();
  let daemon: TrackmilterDaemon | undefined;
  try {
    const url = await receiver.listen();
    const secretFile = path.join(root, 'webhook.secret');
    await fs.writeFile(secretFile, 'a-webhook-secret-of-enough-length\n', { mode: 0o600 });
    await fs.mkdir(path.join(root, 'data'));
    daemon = await TrackmilterDaemon.start({
      dataDir: path.join(root, 'data'),
      configToml: ['[events]', `webhook_url = ${JSON.stringify(url)}`, `webhook_secret_file = ${JSON.stringify(secretFile)}`].join('\n'),
    });
    const milterPort = Number(/:(\d+)$/.exec(daemon.milterSocket)![1]);
    const newsletter = buildNewsletter();
    const result = await sendThroughMilter(milterPort, newsletter);
    const links = pairClicks(readRewritten(result.body!, `http://127.0.0.1:${daemon.httpPort}`), newsletter.spec);

    const phases: PhaseLatency[] = [];
    for (const mode of ['ok', 'fail', 'hang'] as const) {
      receiver.setMode(mode);
      phases.push(await clickPhase(mode, links, options.phaseMs, concurrency, options.pauseMs ?? 20));
    }
    const clicksMade = phases.reduce((sum, phase) => sum + phase.clicks, 0);
    receiver.setMode('ok');
    const recoveredAt = Date.now();
    let drainMs: number | undefined;
    while (Date.now() - recoveredAt < (options.drainTimeoutMs ?? 90_000)) {
      if (receiver.distinct('click').length >= clicksMade) {
        drainMs = Date.now() - recoveredAt;
        break;
      }
      await sleep(100);
    }
    const eventsDelivered = receiver.distinct('click').length;
    const figures: Figures = {};
    for (const phase of phases) {
      figures[`receiver ${phase.mode}: redirected`] = `${phase.redirected}/${phase.clicks}`;
      figures[`receiver ${phase.mode}: p50 / p99 / max ms`] = `${phase.p50} / ${phase.p99} / ${phase.max}`;
    }
    Object.assign(figures, {
      'webhook requests ok / 500 / hung': `${receiver.requests.ok} / ${receiver.requests.fail} / ${receiver.requests.hang}`,
      'clicks made': clicksMade,
      'click events delivered (distinct ids)': eventsDelivered,
      'events lost': clicksMade - eventsDelivered,
      'events delivered twice (allowed)': receiver.duplicates,
      'ms from recovery to the last event': drainMs ?? -1,
    });
    return { figures, phases, clicksMade, eventsDelivered, drainMs, requests: { ...receiver.requests } };
  } finally {
    await daemon?.stop();
    await receiver.close();
    await fs.rm(root, { recursive: true, force: true });
  }
}
