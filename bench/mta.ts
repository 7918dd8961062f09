/**
 * MTA throughput benchmark: smtp-source -> private Postfix -> smtp-sink, 1000 copies of a 40-link
 * newsletter over 20 sessions, in four setups measured in the same run: no milter, the C echo
 * milter (libmilter, body handed back unchanged: the floor for a body-rewriting milter), our milter
 * engine doing the same echo work (bench/lib/echo-engine.ts: engine against engine), and trackmilter
 * (`dist/cli/main.js serve`, tracking for real). The machine is noisy, so the setups run side by side (a
 * Postfix lab each) and are measured in interleaved rounds; the figures are per-setup medians.
 *
 *   npm run bench:mta                                     (builds first)
 *   BENCH_COUNT=200 BENCH_SESSIONS=10 BENCH_ROUNDS=1 npm run bench:mta     quick run
 *   BENCH_ROUNDS=11   interleaved rounds (median reported; trackmilter/echo also round by round). On
 *                     a 2-core VM one round's trackmilter/echo ran anywhere from 0.64 to 1.17: with 3
 *                     rounds the median says little, and a round costs seconds beside the warm-up.
 *   BENCH_WARMUP=5000 messages sent through each setup before timing starts. trackmilter's V8 goes on
 *                     compiling its per-message paths, once in each of its threads, for its first few
 *                     thousand messages (--trace-opt: compile jobs of 2.9 s over messages 1-1,000, 0.2 s
 *                     over 5,001-6,000, 0.05 s after): the default times the daemon as it runs once warm.
 *                     BENCH_WARMUP=50 shows a daemon just started.
 *   BENCH_LINKS=40    links in the newsletter
 *   BENCH_TRANSPORT=inet (default, as in main.cf.example) or unix: the socket both milters listen on.
 *     libmilter does not set TCP_NODELAY, so over inet the echo milter's small writes can wait on
 *     delayed ACKs; unix shows the floor without that.
 *
 * Prints msg/s per setup, each milter's CPU time per message (all its threads: what it costs the
 * machine, which decides the rate once Postfix and the milter share the cores), trackmilter/echo
 * (rates, and CPU a message round by round),
 * trackmilter's peak RSS (VmHWM); writes bench/out/mta.json
 * (bench/out/mta-unix.json with BENCH_TRANSPORT=unix).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { findFreePort } from '../test/helpers/net.js';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TrackmilterDaemon, PACKAGE_VERSION, daemonUnavailableReason, readPeakRssKb } from '../test/helpers/daemon.js';
import { ECHO_MILTER_SOURCE, EchoMilter, buildEchoMilter, echoMilterUnavailableReason } from '../test/helpers/echo-milter.js';
import { PROJECT_ROOT, postfixLabUnavailableReason, type PostfixLab } from '../test/helpers/postfix-lab.js';
import { benchNewsletter } from './lib/bench-newsletter.js';
import { median, ratiosByRound, roundRatiosText } from './lib/figures.js';
import { measureMilterRound, mtaBenchSettings, startWarmLab, type ThroughputResult } from './lib/mta-run.js';

/** Our milter engine with the echo filter (bench/lib/echo-engine.ts) in a process of its own. */
async function startEchoEngine(spec: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'bench', 'lib', 'echo-engine.ts'), spec], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`echo engine exited ${code}`)));
  });
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

const freePort = (): Promise<number> => findFreePort();

const SETTINGS = mtaBenchSettings({ rounds: 11, transport: 'inet' });
const { count: COUNT, sessions: SESSIONS, rounds: ROUNDS, warmup: WARMUP, links: LINKS, transport: TRANSPORT } = SETTINGS;
const OUT_FILE = path.join(PROJECT_ROOT, 'bench', 'out', TRANSPORT === 'inet' ? 'mta.json' : 'mta-unix.json');

interface MilterUnderTest {
  /** smtpd_milters address; undefined for the no-milter setup. */
  spec: string | undefined;
  /** The milter's process, for its CPU time per message and peak RSS; undefined for the no-milter setup. */
  pid?: number;
  /** Messages the milter reports having modified (trackmilter's "message" log lines), if it reports any. */
  messagesModified?(): number;
  /** Links it reports having rewritten, summed over its "message" log lines (`links` field), if any. */
  linksRewritten?(): number;
  stop(): Promise<void>;
}

interface Setup {
  name: string;
  milter: MilterUnderTest;
  lab: PostfixLab;
  rounds: ThroughputResult[];
  /** The milter's CPU time (all threads) per message, one figure per round. */
  cpuMsPerMessage: number[];
}

async function startSetup(name: string, startMilter: () => Promise<MilterUnderTest>, messageFile: string): Promise<Setup> {
  const milter = await startMilter();
  const lab = await startWarmLab(milter.spec, () => milter.stop(), { warmup: WARMUP, sessions: SESSIONS, messageFile });
  return { name, milter, lab, rounds: [], cpuMsPerMessage: [] };
}

async function main(): Promise<number> {
  const blockers = [postfixLabUnavailableReason(), echoMilterUnavailableReason(), daemonUnavailableReason()].filter((reason) => reason !== undefined);
  if (blockers.length > 0) {
    console.error(`bench:mta cannot run: ${blockers.join('; ')}`);
    return 1;
  }

  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'trackmilter-bench-mta-'));
  await fs.chmod(work, 0o755); // unix sockets in here must be reachable by Postfix's smtpd (user postfix)
  const socketIn = (name: string) => (TRANSPORT === 'unix' ? path.join(work, name) : undefined);
  const setups: Setup[] = [];
  try {
    const echoBinary = await buildEchoMilter(work);
    const messageFile = path.join(work, 'newsletter.eml');
    const newsletter = await benchNewsletter('bench:mta', LINKS);
    await fs.writeFile(messageFile, newsletter);
    const messageBytes = newsletter.length;
    console.log(
      `bench:mta: ${COUNT} copies of a ${(messageBytes / 1024).toFixed(1)} KB newsletter with ${LINKS} links, ${SESSIONS} sessions, ` +
        `${ROUNDS} interleaved round(s), warm-up ${WARMUP}, milters on ${TRANSPORT} sockets; ${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(1)}`,
    );

    setups.push(await startSetup('no milter', async () => ({ spec: undefined, stop: async () => undefined }), messageFile));
    setups.push(
      await startSetup(
        'echo milter',
        async () => {
          const unixSocket = socketIn('echo.sock');
          const echo = await EchoMilter.start(echoBinary, unixSocket ? { unixSocket } : {});
          return { spec: echo.postfixSpec, pid: echo.pid, stop: () => echo.stop() };
        },
        messageFile,
      ),
    );
    setups.push(
      await startSetup(
        'engine echo',
        async () => {
          const spec = socketIn('engine.sock') ? `unix:${socketIn('engine.sock')}` : `inet:127.0.0.1:${await freePort()}`;
          const engine = await startEchoEngine(spec);
          return { spec, pid: engine.pid!, stop: () => stopChild(engine) };
        },
        messageFile,
      ),
    );
    setups.push(
      await startSetup(
        'trackmilter',
        async () => {
          const unixSocket = socketIn('trackmilter.sock');
          const daemon = await TrackmilterDaemon.start(unixSocket ? { unixSocket, configToml: '[milter]\nsocket_group = "postfix"\n' } : {});
          return {
            spec: daemon.postfixSpec,
            pid: daemon.pid,
            messagesModified: () => daemon.messageLogs().filter((line) => line.outcome === 'modified').length,
            linksRewritten: () => daemon.messageLogs().reduce((sum, line) => sum + (typeof line.links === 'number' ? line.links : 0), 0),
            stop: () => daemon.dispose(),
          };
        },
        messageFile,
      ),
    );

    for (let round = 1; round <= ROUNDS; round++) {
      const line: string[] = [];
      for (const setup of setups) {
        const { result, cpuMsPerMessage } = await measureMilterRound(setup.lab, setup.milter.pid, { count: COUNT, sessions: SESSIONS, messageFile });
        if (cpuMsPerMessage !== undefined) setup.cpuMsPerMessage.push(cpuMsPerMessage);
        setup.rounds.push(result);
        line.push(`${setup.name} ${result.messagesPerSecond.toFixed(1)}${result.failures ? ` (${result.failures} deferred/rejected)` : ''}`);
      }
      console.log(`round ${round}: ${line.join(', ')} msg/s`);
    }

    const summary = [];
    for (const setup of setups) {
      const pid = setup.milter.pid;
      const peakRssKb = pid === undefined ? undefined : await readPeakRssKb(pid);
      const messagesModified = setup.milter.messagesModified?.();
      const linksRewritten = setup.milter.linksRewritten?.();
      const expectedModified = WARMUP + COUNT * ROUNDS;
      if (messagesModified !== undefined && messagesModified !== expectedModified) {
        console.log(`${setup.name}: WARNING: it modified ${messagesModified} messages, expected ${expectedModified}`);
      }
      summary.push({
        setup: setup.name,
        messagesPerSecond: median(setup.rounds.map((result) => result.messagesPerSecond)),
        failures: setup.rounds.reduce((sum, result) => sum + result.failures, 0),
        ...(setup.cpuMsPerMessage.length > 0 ? { cpuMsPerMessage: median(setup.cpuMsPerMessage) } : {}),
        ...(peakRssKb !== undefined ? { peakRssKb } : {}),
        ...(messagesModified !== undefined ? { messagesModified } : {}),
        ...(linksRewritten !== undefined ? { linksRewrittenPerMessage: linksRewritten / (WARMUP + COUNT * ROUNDS) } : {}),
        rounds: setup.rounds,
      });
    }
    for (const entry of summary) {
      console.log(
        `${entry.setup.padEnd(12)} ${entry.messagesPerSecond.toFixed(1).padStart(7)} msg/s (median)` +
          `${entry.cpuMsPerMessage !== undefined ? `, milter CPU ${entry.cpuMsPerMessage.toFixed(2)} ms/message` : ''}` +
          `${entry.peakRssKb !== undefined ? `, peak RSS ${(entry.peakRssKb / 1024).toFixed(1)} MB` : ''}` +
          `${entry.linksRewrittenPerMessage !== undefined ? `, ${entry.linksRewrittenPerMessage.toFixed(1)} links rewritten per message` : ''}`,
      );
    }
    const echo = summary.find((entry) => entry.setup === 'echo milter')!;
    const engine = summary.find((entry) => entry.setup === 'engine echo')!;
    const track = summary.find((entry) => entry.setup === 'trackmilter')!;
    const ratio = track.messagesPerSecond / echo.messagesPerSecond;
    const engineRatio = engine.messagesPerSecond / echo.messagesPerSecond;
    console.log(`engine echo/echo milter: ${engineRatio.toFixed(2)} (our protocol engine doing the C echo milter's work)`);
    console.log(`trackmilter/echo: ${ratio.toFixed(2)} (full tracking: rewriting, tokens, store)`);
    // Also round by round, as bench:redirect and bench:message print theirs: the setups of one round
    // run minutes apart at most.
    const rates = (entry: { rounds: Array<{ messagesPerSecond: number }> }): number[] => entry.rounds.map((result) => result.messagesPerSecond);
    const perRound = (entry: { rounds: Array<{ messagesPerSecond: number }> }): number[] => ratiosByRound(rates(entry), rates(echo));
    const roundRatios = perRound(track);
    console.log(
      `trackmilter/echo round by round: ${roundRatiosText(roundRatios)}` +
        ` (engine echo/echo: ${perRound(engine)
          .map((r) => r.toFixed(2))
          .join(', ')})`,
    );
    // CPU a message moves far less with the machine than a rate does: a steadier view of the same gap.
    const cpuOf = (name: string): number[] => setups.find((setup) => setup.name === name)!.cpuMsPerMessage;
    const cpuRatios = ratiosByRound(cpuOf('trackmilter'), cpuOf('echo milter'));
    console.log(`trackmilter's CPU a message over the echo milter's, round by round: ${roundRatiosText(cpuRatios)}`);
    if (track.peakRssKb !== undefined) console.log(`trackmilter peak RSS (VmHWM): ${(track.peakRssKb / 1024).toFixed(1)} MB`);

    const report = {
      date: new Date().toISOString(),
      version: PACKAGE_VERSION,
      host: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadAverage: os.loadavg() },
      workload: {
        ...SETTINGS,
        messageBytes,
        echoMilterSource: ECHO_MILTER_SOURCE,
      },
      setups: summary,
      trackmilterToEchoRatio: ratio,
      trackmilterToEchoRatioByRound: roundRatios,
      engineEchoToEchoRatio: engineRatio,
      trackmilterPeakRssKb: track.peakRssKb,
    };
    await fs.mkdir(path.dirname(OUT_FILE), { recursive: true });
    await fs.writeFile(OUT_FILE, JSON.stringify(report, null, 2) + '\n');
    console.log(`wrote ${path.relative(PROJECT_ROOT, OUT_FILE)}`);
    return summary.some((entry) => entry.failures > 0) ? 1 : 0;
  } finally {
    for (const setup of setups) {
      await setup.lab.stop();
      await setup.milter.stop();
    }
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
