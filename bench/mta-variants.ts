/**
 * trackmilter against itself under other settings: one daemon per variant, each behind a private
 * Postfix of its own (smtp-source -> Postfix -> smtp-sink, as bench:mta), measured in interleaved
 * rounds. For settings whose effect is a few tenths of a millisecond of CPU a message, which runs
 * minutes apart on this kind of machine cannot show.
 *
 *   npm run bench:mta-variants                      (builds first)
 *   BENCH_VARIANTS='--heap-growing-percent=0|defaults'
 *                     the variants, separated by |: [milter] settings (worker_min_bytes = 4096),
 *                     several in one variant separated by ;, where one that starts with -- is an
 *                     argument to node itself (a V8 flag), and `defaults` is the daemon as it comes.
 *                     The default compares V8's own heap growing with the daemon's (src/cli/v8-flags.ts)
 *   BENCH_COUNT=1000 BENCH_SESSIONS=20 BENCH_ROUNDS=5 BENCH_WARMUP=5000 BENCH_LINKS=40
 *   BENCH_TRANSPORT=unix (default here) or inet
 *   BENCH_MESSAGE=newsletter (default) or big: bench:mixed's ~10 MB HTML message with 1,000 links
 *                     (then, say, BENCH_COUNT=30 BENCH_WARMUP=10 BENCH_SESSIONS=2)
 *
 * Prints, per round and as medians, msg/s, the daemon's CPU time per message (all its threads) and
 * its main thread's full garbage collections per 1,000 messages (from its /metrics), each variant's
 * CPU per message and rate over the first variant's, round by round, and each daemon's peak RSS.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TrackmilterDaemon, daemonUnavailableReason, readPeakRssKb } from '../test/helpers/daemon.js';
import { postfixLabUnavailableReason, type PostfixLab } from '../test/helpers/postfix-lab.js';
import { scrape } from '../test/app/helpers/metrics.js';
import { bigMessage } from '../stress/lib/mail-flow.js';
import { benchNewsletter } from './lib/bench-newsletter.js';
import { median, ratiosByRound, roundRatiosText } from './lib/figures.js';
import { measureMilterRound, mtaBenchSettings, startWarmLab } from './lib/mta-run.js';

const mta = mtaBenchSettings({ rounds: 5, transport: 'unix' });
const MESSAGE = process.env.BENCH_MESSAGE || 'newsletter';
if (MESSAGE !== 'newsletter' && MESSAGE !== 'big') throw new Error(`BENCH_MESSAGE must be newsletter or big, got ${MESSAGE}`);
const BIG = MESSAGE === 'big';
const VARIANTS = (process.env.BENCH_VARIANTS || '--heap-growing-percent=0|defaults').split('|').map((v) => v.trim());

interface Variant {
  name: string;
  daemon: TrackmilterDaemon;
  lab: PostfixLab;
  rates: number[];
  cpuMsPerMessage: number[];
  majorGcsPer1000: number[];
}

/** The daemon's full garbage collections on the main thread since it started (its /metrics). */
async function majorCollections(daemon: TrackmilterDaemon): Promise<number> {
  const majors = await scrape(`http://127.0.0.1:${daemon.httpPort}`, 'trackmilter_gc_collections_total', '{kind="major"}');
  if (majors === undefined) throw new Error('the daemon reports no trackmilter_gc_collections_total');
  return majors;
}

async function startVariant(name: string, work: string, index: number, messageFile: string): Promise<Variant> {
  const unixSocket = mta.transport === 'unix' ? path.join(work, `trackmilter-${index}.sock`) : undefined;
  const parts = name
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== 'defaults');
  const nodeArgs = parts.filter((s) => s.startsWith('--'));
  const settings = parts.filter((s) => !s.startsWith('--'));
  const configToml = ['[milter]', ...(unixSocket ? ['socket_group = "postfix"'] : []), ...settings, ''].join('\n');
  const daemon = await TrackmilterDaemon.start({ ...(unixSocket ? { unixSocket } : {}), configToml, nodeArgs });
  const lab = await startWarmLab(daemon.postfixSpec, () => daemon.dispose(), { warmup: mta.warmup, sessions: mta.sessions, messageFile });
  return { name, daemon, lab, rates: [], cpuMsPerMessage: [], majorGcsPer1000: [] };
}

async function main(): Promise<number> {
  const blockers = [postfixLabUnavailableReason(), daemonUnavailableReason()].filter((reason) => reason !== undefined);
  if (blockers.length > 0) {
    console.error(`bench:mta-variants cannot run: ${blockers.join('; ')}`);
    return 1;
  }
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'trackmilter-bench-variants-'));
  await fs.chmod(work, 0o755); // Postfix's smtpd (user postfix) must reach the unix sockets in here
  const variants: Variant[] = [];
  try {
    const messageFile = path.join(work, 'message.eml');
    const message = BIG ? Buffer.from(bigMessage().data) : await benchNewsletter('bench:mta-variants', mta.links);
    await fs.writeFile(messageFile, message);
    console.log(
      `bench:mta-variants: ${mta.count} copies of a ${(message.length / 1024).toFixed(1)} KB ${BIG ? 'HTML message' : 'newsletter'}, ${mta.sessions} sessions, ${mta.rounds} interleaved ` +
        `round(s), warm-up ${mta.warmup}, ${mta.transport} sockets; ${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(1)}`,
    );
    for (const [index, name] of VARIANTS.entries()) variants.push(await startVariant(name, work, index, messageFile));

    for (let round = 1; round <= mta.rounds; round++) {
      const line: string[] = [];
      for (const variant of variants) {
        const majorsBefore = await majorCollections(variant.daemon);
        const { result, cpuMsPerMessage: cpu } = await measureMilterRound(variant.lab, variant.daemon.pid, {
          count: mta.count,
          sessions: mta.sessions,
          messageFile,
        });
        const majors = ((await majorCollections(variant.daemon)) - majorsBefore) * (1000 / mta.count);
        if (result.failures > 0) console.log(`${variant.name}: WARNING: ${result.failures} messages deferred or rejected`);
        variant.rates.push(result.messagesPerSecond);
        variant.cpuMsPerMessage.push(cpu);
        variant.majorGcsPer1000.push(majors);
        line.push(`${variant.name}: ${result.messagesPerSecond.toFixed(1)} msg/s, ${cpu.toFixed(2)} ms, ${majors.toFixed(0)} full GCs`);
      }
      console.log(`round ${round}: ${line.join(' | ')}`);
    }
    const first = variants[0]!;
    for (const variant of variants) {
      console.log(
        `${variant.name}: ${median(variant.rates).toFixed(1)} msg/s, ${median(variant.cpuMsPerMessage).toFixed(2)} ms of CPU a message, ` +
          `${median(variant.majorGcsPer1000).toFixed(0)} full GCs per 1,000 messages (medians)` +
          (variant === first
            ? ''
            : `; over ${first.name}, round by round: CPU ${roundRatiosText(ratiosByRound(variant.cpuMsPerMessage, first.cpuMsPerMessage))}; ` +
              `rate ${roundRatiosText(ratiosByRound(variant.rates, first.rates))}`),
      );
    }
    for (const variant of variants) {
      const peakKb = await readPeakRssKb(variant.daemon.pid);
      console.log(`${variant.name}: peak RSS ${peakKb === undefined ? 'unknown' : `${(peakKb / 1024).toFixed(0)} MB`}`);
    }
    return 0;
  } finally {
    for (const variant of variants) {
      await variant.lab.stop();
      await variant.daemon.dispose();
    }
    await fs.rm(work, { recursive: true, force: true });
  }
}

process.exitCode = await main();
