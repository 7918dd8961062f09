/**
 * MTA throughput benchmark: smtp-source -> private Postfix -> smtp-sink, 1000 copies of a 40-link
 * newsletter over 20 sessions, in three setups measured in the same run (the machine is noisy, so
 * only figures from one run compare): no milter, the C echo milter (libmilter, body handed back
 * unchanged: the floor for a body-rewriting milter), and trackmilter (`dist/cli/main.js serve`).
 *
 *   npm run bench:mta                       (builds first)
 *   BENCH_COUNT=200 BENCH_SESSIONS=10 npm run bench:mta   quick run
 *   BENCH_WARMUP=50   messages sent (per setup) before timing starts
 *   BENCH_LINKS=40    links in the newsletter
 *
 * Prints msg/s per setup, trackmilter/echo, trackmilter's peak RSS (VmHWM); writes bench/out/mta.json.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { TrackmilterDaemon, PACKAGE_VERSION, daemonUnavailableReason, readPeakRssKb } from '../test/helpers/daemon.js';
import { ECHO_MILTER_SOURCE, EchoMilter, SHARED_BENCH_DIR, buildEchoMilter, echoMilterUnavailableReason } from '../test/helpers/echo-milter.js';
import { PROJECT_ROOT, PostfixLab, postfixLabUnavailableReason } from '../test/helpers/postfix-lab.js';
import { measureThroughput, type ThroughputResult } from './lib/mta-run.js';

const execFileAsync = promisify(execFile);

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  return value;
}

const COUNT = envInt('BENCH_COUNT', 1000);
const SESSIONS = envInt('BENCH_SESSIONS', 20);
const WARMUP = envInt('BENCH_WARMUP', 50);
const LINKS = envInt('BENCH_LINKS', 40);
const OUT_FILE = path.join(PROJECT_ROOT, 'bench', 'out', 'mta.json');

interface MilterUnderTest {
  spec: string | undefined;
  pid: number | undefined;
  peakRssKb(): Promise<number | undefined>;
  /** Messages the milter reports having modified (trackmilter's "message" log lines), if it reports any. */
  messagesModified?(): number;
  stop(): Promise<void>;
}

interface SetupResult extends ThroughputResult {
  setup: string;
  peakRssKb?: number;
  messagesModified?: number;
}

async function measureSetup(setup: string, messageFile: string, startMilter: () => Promise<MilterUnderTest>): Promise<SetupResult> {
  const milter = await startMilter();
  // tempfail: a milter failure shows up as a refused message (and a failed run), never as silent pass-through
  const lab = await PostfixLab.start({ milter: milter.spec, defaultAction: 'tempfail', dumpMessages: false });
  try {
    if (WARMUP > 0) await measureThroughput(lab, { count: WARMUP, sessions: Math.min(SESSIONS, WARMUP), messageFile });
    const result = await measureThroughput(lab, { count: COUNT, sessions: SESSIONS, messageFile });
    const peakRssKb = await milter.peakRssKb();
    const messagesModified = milter.messagesModified?.();
    if (messagesModified !== undefined && messagesModified !== WARMUP + COUNT) {
      console.log(`${setup}: WARNING: modified ${messagesModified} messages, expected ${WARMUP + COUNT}`);
    }
    console.log(
      `${setup.padEnd(12)} ${result.messagesPerSecond.toFixed(1).padStart(7)} msg/s  (${COUNT} msgs in ${result.seconds.toFixed(2)} s` +
        `${peakRssKb !== undefined ? `, peak RSS ${(peakRssKb / 1024).toFixed(1)} MB` : ''}${result.failures ? `, ${result.failures} deferred/rejected` : ''})`,
    );
    return { setup, ...result, ...(peakRssKb !== undefined ? { peakRssKb } : {}), ...(messagesModified !== undefined ? { messagesModified } : {}) };
  } finally {
    await lab.stop();
    await milter.stop();
  }
}

async function main(): Promise<number> {
  if (!existsSync(SHARED_BENCH_DIR)) {
    console.log(`bench:mta: ${SHARED_BENCH_DIR} is absent (it holds echo-milter.c and make-newsletter.py); nothing to measure.`);
    return 0;
  }
  const blockers = [postfixLabUnavailableReason(), echoMilterUnavailableReason(), daemonUnavailableReason()].filter((reason) => reason !== undefined);
  if (blockers.length > 0) {
    console.error(`bench:mta cannot run: ${blockers.join('; ')}`);
    return 1;
  }

  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'trackmilter-bench-mta-'));
  try {
    const echoBinary = await buildEchoMilter(work);
    const messageFile = path.join(work, 'newsletter.eml');
    const { stdout: newsletter } = await execFileAsync('python3', [path.join(SHARED_BENCH_DIR, 'make-newsletter.py'), String(LINKS)], { maxBuffer: 64 * 1024 * 1024 });
    await fs.writeFile(messageFile, newsletter);
    const messageBytes = Buffer.byteLength(newsletter);
    console.log(
      `bench:mta: ${COUNT} copies of a ${(messageBytes / 1024).toFixed(1)} KB newsletter with ${LINKS} links, ${SESSIONS} sessions, ` +
        `warm-up ${WARMUP}, ${os.cpus().length} CPUs; smtp-source -> Postfix -> smtp-sink`,
    );

    const results: SetupResult[] = [];
    results.push(
      await measureSetup('no milter', messageFile, async () => ({ spec: undefined, pid: undefined, peakRssKb: async () => undefined, stop: async () => undefined })),
    );
    results.push(
      await measureSetup('echo milter', messageFile, async () => {
        const echo = await EchoMilter.start(echoBinary);
        return { spec: echo.postfixSpec, pid: echo.pid, peakRssKb: async () => readPeakRssKb(echo.pid), stop: () => echo.stop() };
      }),
    );
    results.push(
      await measureSetup('trackmilter', messageFile, async () => {
        const daemon = await TrackmilterDaemon.start();
        return {
          spec: daemon.postfixSpec,
          pid: daemon.pid,
          peakRssKb: () => daemon.peakRssKb(),
          messagesModified: () => daemon.messageLogs().filter((line) => line.outcome === 'modified').length,
          stop: () => daemon.dispose(),
        };
      }),
    );

    const byName = new Map(results.map((result) => [result.setup, result]));
    const echoRate = byName.get('echo milter')!.messagesPerSecond;
    const track = byName.get('trackmilter')!;
    const ratio = track.messagesPerSecond / echoRate;
    console.log(`trackmilter/echo: ${ratio.toFixed(2)}`);
    if (track.peakRssKb !== undefined) console.log(`trackmilter peak RSS (VmHWM): ${(track.peakRssKb / 1024).toFixed(1)} MB`);

    const report = {
      date: new Date().toISOString(),
      version: PACKAGE_VERSION,
      host: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
      workload: { count: COUNT, sessions: SESSIONS, warmup: WARMUP, links: LINKS, messageBytes, echoMilterSource: ECHO_MILTER_SOURCE },
      setups: results,
      trackmilterToEchoRatio: ratio,
      trackmilterPeakRssKb: track.peakRssKb,
    };
    await fs.mkdir(path.dirname(OUT_FILE), { recursive: true });
    await fs.writeFile(OUT_FILE, JSON.stringify(report, null, 2) + '\n');
    console.log(`wrote ${path.relative(PROJECT_ROOT, OUT_FILE)}`);
    return results.some((result) => result.failures > 0) ? 1 : 0;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
