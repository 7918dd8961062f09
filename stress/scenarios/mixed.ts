/**
 * Clicks while big messages and newsletters flow: one SMTP session sending ~10 MB HTML messages with
 * 1,000 links, `newsletterSenders` sessions sending 40-link newsletters, all through Postfix into one
 * daemon, while `clickers` keep-alive HTTP clients click a genuine link of it for `seconds`. Click
 * latency percentiles and milter throughput side by side, and the daemon's own event-loop delay.
 */
import http from 'node:http';
import { browse } from '../../test/app/helpers/traffic.js';
import { metricSamples } from '../../test/app/helpers/metrics.js';
import { quantile, type Figures } from '../lib/figures.js';
import { bigMessage, clickLink, newsletter, startSenders } from '../lib/mail-flow.js';
import { withRig } from '../lib/rig.js';

export interface MixedScenarioOptions {
  seconds: number;
  newsletterSenders: number;
  clickers: number;
  /** TOML for the daemon (e.g. `[milter]\nworkers = 0` for the inline path); defaults otherwise. */
  configToml?: string;
}

export interface MixedScenarioResult {
  figures: Figures;
  clicks: number;
  /** Clicks not answered 302 to the link's destination, or not answered at all. */
  badClicks: number;
  accepted: { big: number; newsletters: number };
  refused: number;
  /** Daemon "message" log lines by outcome (modified, failed, ...). */
  outcomes: Record<string, number>;
}

/** One keep-alive client clicking `link` until `until`; each click's latency in ms. */
async function clickLoop(link: string, until: number, agent: http.Agent, expected: string | null, bad: { count: number }): Promise<number[]> {
  const latencies: number[] = [];
  while (Date.now() < until) {
    const started = performance.now();
    const location = await new Promise<string | null>((resolve) => {
      const req = http.get(link, { agent, headers: { 'User-Agent': 'Mozilla/5.0 (stress mixed)' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 302 ? (res.headers.location ?? null) : null));
      });
      req.on('error', () => resolve(null));
    });
    latencies.push(performance.now() - started);
    if (location === null || (expected !== null && location !== expected)) bad.count += 1;
  }
  return latencies;
}

export async function runMixedScenario(options: MixedScenarioOptions): Promise<MixedScenarioResult> {
  const daemonOptions = options.configToml === undefined ? {} : { configToml: options.configToml };
  return withRig({ daemon: daemonOptions, lab: { dumpMessages: false } }, async ({ daemon, lab }) => {
    const link = await clickLink(daemon);
    const expected = (await browse(link)).location;
    const big = startSenders(lab.smtpPort, bigMessage(), 1);
    const letters = startSenders(lab.smtpPort, newsletter(), options.newsletterSenders);
    const agent = new http.Agent({ keepAlive: true, maxSockets: options.clickers });
    const bad = { count: 0 };
    const startedAt = Date.now();
    const until = startedAt + options.seconds * 1000;
    const perClicker = await Promise.all(Array.from({ length: options.clickers }, () => clickLoop(link, until, agent, expected, bad)));
    const elapsed = (Date.now() - startedAt) / 1000;
    const bigCounts = big.counts();
    const letterCounts = letters.counts();
    await Promise.all([big.stop(), letters.stop()]);
    agent.destroy();

    const latencies = perClicker.flat();
    const metrics = (await browse(`http://127.0.0.1:${daemon.httpPort}/metrics`)).body.toString('utf8');
    const delay = metricSamples(metrics, 'trackmilter_event_loop_delay_seconds');
    const outcomes: Record<string, number> = {};
    for (const line of daemon.messageLogs()) outcomes[String(line.outcome)] = (outcomes[String(line.outcome)] ?? 0) + 1;
    const ms = (v: number): number => Math.round(v * 100) / 100;
    const figures: Figures = {
      seconds: Math.round(elapsed * 10) / 10,
      clickers: options.clickers,
      clicks: latencies.length,
      'clicks/s': Math.round(latencies.length / elapsed),
      'click p50 ms': ms(quantile(latencies, 0.5)),
      'click p99 ms': ms(quantile(latencies, 0.99)),
      'click max ms': ms(Math.max(...latencies)),
      'bad clicks': bad.count,
      'big messages taken': bigCounts.accepted,
      'newsletters taken': letterCounts.accepted,
      'newsletters/s': Math.round((letterCounts.accepted / elapsed) * 100) / 100,
      refused: bigCounts.refused + letterCounts.refused,
      'daemon event-loop delay p99 ms': ms((delay.get('{quantile="0.99"}') ?? NaN) * 1000),
      'daemon event-loop delay max ms': ms((delay.get('{quantile="max"}') ?? NaN) * 1000),
      'message outcomes': Object.entries(outcomes).map(([k, v]) => `${k} ${v}`),
    };
    return {
      figures,
      clicks: latencies.length,
      badClicks: bad.count,
      accepted: { big: bigCounts.accepted, newsletters: letterCounts.accepted },
      refused: bigCounts.refused + letterCounts.refused,
      outcomes,
    };
  });
}
