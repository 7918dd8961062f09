/**
 * Clicks while mail flows: wrk on a genuine click link of `serve` while messages go through a private
 * Postfix into the same daemon, with the message work inline on the main thread (milter.workers = 0,
 * as before the worker pool) and on the pool (the default), in one run:
 *   idle          clicks alone
 *   newsletters   NEWSLETTER_SENDERS SMTP sessions sending 40-link newsletters back to back
 *   big           one SMTP session sending ~10 MB HTML messages with ~1,000 links back to back
 * Per row: clicks/s, click p50/p99 (wrk), and messages/s Postfix took (250 after DATA, so the milter
 * had answered). Prints the load average, since the machine may be shared.
 *
 *   npm run bench:mixed      BENCH_SECONDS=8 per row, BENCH_CONNECTIONS=32
 *   BENCH_WORKERS=1,4        also the pool at these sizes (milter.workers = N), in the same run
 * Needs root, Postfix, smtp-sink and wrk (Debian: apt-get install -y wrk). Writes bench/out/mixed.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { daemonUnavailableReason } from '../test/helpers/daemon.js';
import type { OutgoingMessage } from '../test/helpers/smtp.js';
import { postfixLabUnavailableReason, PROJECT_ROOT } from '../test/helpers/postfix-lab.js';
import { workerCount } from '../src/app/tracking-workers.js';
import { withRig } from '../stress/lib/rig.js';
import { bigMessage, clickLink, newsletter, startSenders } from '../stress/lib/mail-flow.js';
import { hasWrk, wrk } from './lib/wrk.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const NEWSLETTER_SENDERS = 4;

interface Row {
  mode: string;
  load: string;
  clicksPerSec: number;
  clickP50Ms: number;
  clickP99Ms: number;
  badClicks: number;
  messagesPerSec: number;
  messages: number;
  refused: number;
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

async function runMode(mode: string, configToml: string): Promise<Row[]> {
  return withRig({ daemon: { configToml }, lab: { dumpMessages: false } }, async ({ daemon, lab }) => {
    const link = await clickLink(daemon);
    await wrk(link, { threads: 1, connections: CONNECTIONS, seconds: 1 });
    const rows: Row[] = [];
    const scenarios: Array<[string, OutgoingMessage | null, number]> = [
      ['idle', null, 0],
      [`${NEWSLETTER_SENDERS} senders of 40-link newsletters`, newsletter(), NEWSLETTER_SENDERS],
      ['1 sender of 10 MB, 1,000-link HTML', bigMessage(), 1],
    ];
    for (const [name, message, sessions] of scenarios) {
      const senders = message ? startSenders(lab.smtpPort, message, sessions) : null;
      // Let the senders get going before clicks are measured; count what Postfix took during wrk only.
      if (senders) await new Promise((resolve) => setTimeout(resolve, 1500));
      const before = senders?.counts() ?? { accepted: 0, refused: 0 };
      const started = Date.now();
      const clicks = await wrk(link, { threads: 1, connections: CONNECTIONS, seconds: SECONDS });
      const elapsed = (Date.now() - started) / 1000;
      const after = senders?.counts() ?? before;
      await senders?.stop();
      const counts = { accepted: after.accepted - before.accepted, refused: after.refused - before.refused };
      rows.push({
        mode: `${mode}: ${name}`,
        load: loadAverage(),
        clicksPerSec: Math.round(clicks.requestsPerSec),
        clickP50Ms: clicks.p50Ms,
        clickP99Ms: clicks.p99Ms,
        badClicks: clicks.non3xx,
        messagesPerSec: Math.round((counts.accepted / elapsed) * 100) / 100,
        messages: counts.accepted,
        refused: counts.refused,
      });
      console.log(JSON.stringify(rows.at(-1)));
    }
    return rows;
  });
}

async function main(): Promise<void> {
  const missing = [daemonUnavailableReason(), postfixLabUnavailableReason()].filter((r) => r !== undefined);
  if (!(await hasWrk())) missing.push('wrk is not installed (Debian: apt-get install -y wrk)');
  if (missing.length > 0) {
    console.log(`bench:mixed skipped: ${missing.join('; ')}`);
    return;
  }
  const workers = workerCount(-1);
  console.log(`wrk -t1 -c${CONNECTIONS} ${SECONDS} s per row; ${os.cpus().length} CPUs, node ${process.version}; load average at start ${loadAverage()}`);
  const sizes = (process.env.BENCH_WORKERS ?? '').split(',').filter((size) => /^\d+$/.test(size.trim()));
  const rows = [...(await runMode('inline (milter.workers = 0)', '[milter]\nworkers = 0\n')), ...(await runMode(`pool (milter.workers = -1: ${workers})`, ''))];
  for (const size of sizes) rows.push(...(await runMode(`pool (milter.workers = ${size.trim()})`, `[milter]\nworkers = ${size.trim()}\n`)));
  console.table(
    rows.map((r) => ({
      while: r.mode,
      'clicks/s': r.clicksPerSec,
      'click p50 ms': r.clickP50Ms,
      'click p99 ms': r.clickP99Ms,
      'not 302': r.badClicks,
      'messages/s': r.messagesPerSec,
      refused: r.refused,
      'load avg': r.load,
    })),
  );
  const out = path.join(PROJECT_ROOT, 'bench', 'out');
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, 'mixed.json'), JSON.stringify({ seconds: SECONDS, connections: CONNECTIONS, rows }, null, 2));
}

await main();
