/**
 * Fleet benchmark: trackmilter on PostgreSQL against trackmilter on LevelDB, on the same machine in one
 * run, and two redirectors on one database against one.
 *
 *   messages/s  smtp-source -> a private Postfix -> the milter of `serve` -> smtp-sink (bench/lib/mta-run.ts,
 *               the newsletter of bench:mta), one Postfix lab per setup
 *   clicks/s    wrk on the redirector of `serve`, each request one of the click links (at random) of
 *               BENCH_MESSAGES newsletters minted through that host's milter, one recipient each
 *
 * Setups: LevelDB (one `serve` on its own data dir) and the fleet of test/app/helpers/fleet.ts (hosts A
 * and B, `serve` each, one private PostgreSQL cluster; A's milter in Postfix, B with A's keys). Every
 * round measures, one after the other: messages on LevelDB, messages on PostgreSQL (A), clicks on
 * LevelDB, clicks on A alone, clicks on A and B at once (two wrk, half the connections each, the
 * same links). Figures are medians over the interleaved rounds. Afterwards `report` from the LevelDB
 * host and from B must count every click wrk saw answered (an answer waits for its event's commit).
 *
 * Beside each rate, the CPU time per message and per click of the daemons and of the PostgreSQL server
 * (its backends included), from /proc: unlike a rate, it hardly moves when something else loads the
 * machine, and it says how many redirectors on hosts of their own one database can carry (here the
 * two redirectors share the machine's cores, so their summed rate cannot show that).
 *
 * The cluster runs with fsync off (test/helpers/postgres.ts), as LevelDB's batches are not fsync'd by
 * default: neither side pays for durability across a power loss. PostgreSQL, Postfix, wrk and the
 * daemons share the machine's cores, as they would on one host.
 *
 *   npm run bench:fleet                         (builds first)
 *   BENCH_COUNT=1000 BENCH_SESSIONS=20 BENCH_ROUNDS=3 BENCH_WARMUP=50   messages per setup and round,
 *                                               SMTP sessions, rounds, warm-up messages per setup
 *   BENCH_SECONDS=8 BENCH_CONNECTIONS=64 BENCH_MESSAGES=100             wrk seconds per click row,
 *                                               connections, newsletters whose links are clicked
 *
 * Prints the figures, the ratios and the load average; writes bench/out/fleet.json.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startFleet, hostConfigToml, type Fleet } from '../test/app/helpers/fleet.js';
import { CLI_BUILT, DaemonProcess, TempDirs, freePort } from '../test/app/helpers/processes.js';
import { runCli } from '../test/helpers/cli-process.js';
import { PACKAGE_VERSION } from '../test/helpers/daemon.js';
import { PROJECT_ROOT, PostfixLab, postfixLabUnavailableReason } from '../test/helpers/postfix-lab.js';
import { postgresBinaries } from '../test/helpers/postgres.js';
import { mintClickLinks, newsletter } from '../stress/lib/mail-flow.js';
import { cpuMs } from './lib/cpu.js';
import { envInt, median } from './lib/figures.js';
import { measureThroughput, type ThroughputResult } from './lib/mta-run.js';
import { hasWrk, randomPathScript, wrk, type WrkResult } from './lib/wrk.js';

const COUNT = envInt('BENCH_COUNT', 1000, 1);
const SESSIONS = envInt('BENCH_SESSIONS', 20, 1);
const ROUNDS = envInt('BENCH_ROUNDS', 3, 1);
const WARMUP = envInt('BENCH_WARMUP', 50);
const SECONDS = envInt('BENCH_SECONDS', 8, 1);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 64, 2);
const MESSAGES = envInt('BENCH_MESSAGES', 100, 1);
const SEND_ID = 'a100525'; // the send of the bench newsletter (X-GreenArrow-MailClass a, InstanceID 100525)
const OUT_FILE = path.join(PROJECT_ROOT, 'bench', 'out', 'fleet.json');

const loadAverage = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** One click row of one round: the hosts hit at once, their rates summed. */
interface ClickRound {
  requestsPerSec: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  non3xx: number;
  socketErrors: string;
  /** CPU per answered click: the redirector processes (all threads, summed), the PostgreSQL server (backends included). */
  redirectorCpuUsPerClick: number;
  postgresCpuUsPerClick: number;
  perHost: WrkResult[];
}

/** CPU time (ms) of processes so far, summed; a process that is not running counts 0. */
async function cpuOf(pids: Array<number | undefined>): Promise<number> {
  const times = await Promise.all(pids.map((pid) => (pid === undefined || pid <= 0 ? Promise.resolve(0) : cpuMs(pid))));
  return times.reduce((sum, t) => sum + t, 0);
}

/**
 * wrk on each host at once (the connections and wrk's two threads split between them); rates summed.
 * `database`: the PostgreSQL server's pid, whose CPU is counted per click too.
 */
async function clickRound(hosts: DaemonProcess[], script: string, seconds: number, database: number | undefined): Promise<ClickRound> {
  const threads = hosts.length === 1 ? 2 : 1;
  const pids = hosts.map((host) => host.pid);
  const [hostsBefore, databaseBefore] = [await cpuOf(pids), await cpuOf([database])];
  const perHost = await Promise.all(
    hosts.map((host) => wrk(`${host.baseUrl}/`, { threads, connections: Math.floor(CONNECTIONS / hosts.length), seconds, script })),
  );
  const requests = perHost.reduce((sum, r) => sum + r.requests, 0);
  const perClick = (ms: number): number => (ms * 1000) / Math.max(1, requests);
  return {
    requestsPerSec: perHost.reduce((sum, r) => sum + r.requestsPerSec, 0),
    requests,
    redirectorCpuUsPerClick: perClick((await cpuOf(pids)) - hostsBefore),
    postgresCpuUsPerClick: perClick((await cpuOf([database])) - databaseBefore),
    p50Ms: Math.max(...perHost.map((r) => r.p50Ms)),
    p99Ms: Math.max(...perHost.map((r) => r.p99Ms)),
    non3xx: perHost.reduce((sum, r) => sum + r.non3xx, 0),
    socketErrors: perHost
      .map((r) => r.socketErrors ?? '')
      .join(' ')
      .trim(),
    perHost,
  };
}

/** The click paths (/c/TOKEN) of `count` newsletters through a host's milter, one recipient each. */
async function mintPaths(host: DaemonProcess, count: number): Promise<string[]> {
  const paths: string[] = [];
  for (let n = 0; n < count; n++) {
    const links = await mintClickLinks(host.milterSpec, host.httpPort, `reader${n}@example.net`);
    paths.push(...links.map((link) => link.slice(host.baseUrl.length)));
  }
  return paths;
}

/** Clicks `report` counts for the send, asked of a host the way a user's shell does. */
async function reportedClicks(host: DaemonProcess): Promise<number> {
  const result = await runCli(['report', '--sendid', SEND_ID, '--json', ...host.cliFlags], 300_000);
  if (result.code !== 0) throw new Error(`report on ${host.httpAddress} exited ${result.code}: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { all: { clicks: number } }).all.clicks;
}

interface MessageRound extends ThroughputResult {
  /** CPU per message: the milter's daemon (all threads), the PostgreSQL server (backends included). */
  daemonCpuMsPerMessage: number;
  postgresCpuMsPerMessage: number;
}

interface MessageSetup {
  name: string;
  host: DaemonProcess;
  lab: PostfixLab;
  rounds: MessageRound[];
}

interface ClickSetup {
  name: string;
  hosts: DaemonProcess[];
  script: string;
  rounds: ClickRound[];
}

async function main(): Promise<number> {
  const binaries = postgresBinaries();
  const blockers = [
    postfixLabUnavailableReason(),
    'missing' in binaries ? binaries.missing : undefined,
    CLI_BUILT ? undefined : 'dist/cli/main.js is missing: run npm run build',
    (await hasWrk()) ? undefined : 'wrk is not installed (Debian: apt-get install -y wrk)',
  ].filter((reason) => reason !== undefined);
  if (blockers.length > 0) {
    console.error(`bench:fleet cannot run: ${blockers.join('; ')}`);
    return 1;
  }
  const loadAtStart = os.loadavg();
  console.log(
    `bench:fleet: ${COUNT} newsletters per setup and round over ${SESSIONS} SMTP sessions (warm-up ${WARMUP}); ` +
      `wrk -c${CONNECTIONS} ${SECONDS} s per click row on the links of ${MESSAGES} newsletters; ${ROUNDS} interleaved round(s); ` +
      `${os.cpus().length} CPUs, node ${process.version}, load average ${loadAverage()}`,
  );

  const dirs = new TempDirs();
  const labs: PostfixLab[] = [];
  let leveldb: DaemonProcess | undefined;
  let fleet: Fleet | undefined;
  const scripts: string[] = [];
  try {
    const port = await freePort();
    const dataDir = path.join(await dirs.make('bench-fleet-'), 'data');
    leveldb = await DaemonProcess.start({ role: 'serve', dataDir, httpPort: port, configToml: hostConfigToml(`127.0.0.1:${port}`) });
    fleet = await startFleet();
    const { hostA, hostB } = fleet;

    const messageFile = path.join(await dirs.make('bench-fleet-mail-'), 'newsletter.eml');
    await fs.writeFile(messageFile, newsletter().data);
    const messageSetups: MessageSetup[] = [];
    for (const [name, host] of [
      ['LevelDB', leveldb],
      ['PostgreSQL', hostA],
    ] as const) {
      // tempfail: a milter failure shows up as refused mail (and a failed run), never as silent pass-through
      const lab = await PostfixLab.start({ milter: host.milterSpec, defaultAction: 'tempfail', dumpMessages: false });
      labs.push(lab);
      if (WARMUP > 0) await measureThroughput(lab, { count: WARMUP, sessions: Math.min(SESSIONS, WARMUP), messageFile });
      messageSetups.push({ name, host, lab, rounds: [] });
    }

    const levelScript = await randomPathScript(await mintPaths(leveldb, MESSAGES));
    const fleetScript = await randomPathScript(await mintPaths(hostA, MESSAGES));
    scripts.push(levelScript, fleetScript);
    const clickSetups: ClickSetup[] = [
      { name: 'LevelDB, one redirector', hosts: [leveldb], script: levelScript, rounds: [] },
      { name: 'PostgreSQL, one redirector (A)', hosts: [hostA], script: fleetScript, rounds: [] },
      { name: 'PostgreSQL, two redirectors (A + B)', hosts: [hostA, hostB], script: fleetScript, rounds: [] },
    ];
    // Every click answered, warm-up included, per store: what `report` must count afterwards.
    const answered = new Map<DaemonProcess, number>([
      [leveldb, 0],
      [hostA, 0],
    ]);
    const database = fleet.cluster.pid;
    const storeOf = (setup: ClickSetup): DaemonProcess => setup.hosts[0]!;
    const countAnswered = (setup: ClickSetup, round: ClickRound): void => {
      answered.set(storeOf(setup), answered.get(storeOf(setup))! + round.requests - round.non3xx);
    };
    // Warm-up: each host reads its URL rows and message records into its cache (B from A's writes).
    for (const setup of [clickSetups[0]!, clickSetups[2]!]) countAnswered(setup, await clickRound(setup.hosts, setup.script, 2, database));

    for (let round = 1; round <= ROUNDS; round++) {
      const line: string[] = [];
      for (const setup of messageSetups) {
        const [daemonBefore, databaseBefore] = [await cpuOf([setup.host.pid]), await cpuOf([database])];
        const throughput = await measureThroughput(setup.lab, { count: COUNT, sessions: SESSIONS, messageFile });
        const result = {
          ...throughput,
          daemonCpuMsPerMessage: ((await cpuOf([setup.host.pid])) - daemonBefore) / COUNT,
          postgresCpuMsPerMessage: ((await cpuOf([database])) - databaseBefore) / COUNT,
        };
        setup.rounds.push(result);
        line.push(`${setup.name} ${result.messagesPerSecond.toFixed(1)} msg/s${result.failures ? ` (${result.failures} deferred/rejected)` : ''}`);
      }
      for (const setup of clickSetups) {
        const result = await clickRound(setup.hosts, setup.script, SECONDS, database);
        countAnswered(setup, result);
        setup.rounds.push(result);
        line.push(`${setup.name} ${Math.round(result.requestsPerSec)} clicks/s${result.non3xx ? ` (${result.non3xx} not 3xx)` : ''}`);
      }
      console.log(`round ${round} (load ${loadAverage()}): ${line.join(', ')}`);
    }

    // Every click answered is recorded: counted by report from the LevelDB host, and from B for the
    // fleet (clicks made through A and through B, all in the one database).
    const recorded = [
      { store: 'LevelDB', answered: answered.get(leveldb)!, reported: await reportedClicks(leveldb) },
      { store: 'PostgreSQL', answered: answered.get(hostA)!, reported: await reportedClicks(hostB) },
    ];

    const messageRows = messageSetups.map((setup) => ({
      setup: setup.name,
      messagesPerSecond: median(setup.rounds.map((r) => r.messagesPerSecond)),
      failures: setup.rounds.reduce((sum, r) => sum + r.failures, 0),
      daemonCpuMsPerMessage: median(setup.rounds.map((r) => r.daemonCpuMsPerMessage)),
      postgresCpuMsPerMessage: median(setup.rounds.map((r) => r.postgresCpuMsPerMessage)),
      rounds: setup.rounds,
    }));
    const clickRows = clickSetups.map((setup) => ({
      setup: setup.name,
      clicksPerSecond: median(setup.rounds.map((r) => r.requestsPerSec)),
      p50Ms: median(setup.rounds.map((r) => r.p50Ms)),
      worstP99Ms: Math.max(...setup.rounds.map((r) => r.p99Ms)),
      redirectorCpuUsPerClick: median(setup.rounds.map((r) => r.redirectorCpuUsPerClick)),
      postgresCpuUsPerClick: median(setup.rounds.map((r) => r.postgresCpuUsPerClick)),
      non3xx: setup.rounds.reduce((sum, r) => sum + r.non3xx, 0),
      socketErrors: setup.rounds
        .map((r) => r.socketErrors)
        .join(' ')
        .trim(),
      rounds: setup.rounds,
    }));
    const [levelMessages, pgMessages] = messageRows.map((row) => row.messagesPerSecond) as [number, number];
    const [levelClicks, pgClicks, pgTwoClicks] = clickRows.map((row) => row.clicksPerSecond) as [number, number, number];
    const ratios = {
      messagesPostgresToLevelDb: pgMessages / levelMessages,
      clicksPostgresToLevelDb: pgClicks / levelClicks,
      clicksTwoRedirectorsToOne: pgTwoClicks / pgClicks,
      clicksTwoRedirectorsToLevelDb: pgTwoClicks / levelClicks,
    };

    console.table(
      messageRows.map((row) => ({
        'through the milter': row.setup,
        'msg/s': Number(row.messagesPerSecond.toFixed(1)),
        'daemon CPU ms/msg': Number(row.daemonCpuMsPerMessage.toFixed(2)),
        'PostgreSQL CPU ms/msg': Number(row.postgresCpuMsPerMessage.toFixed(2)),
        failures: row.failures,
      })),
    );
    console.table(
      clickRows.map((row) => ({
        'through the redirector': row.setup,
        'clicks/s': Math.round(row.clicksPerSecond),
        'p50 ms': Number(row.p50Ms.toFixed(2)),
        'worst p99 ms': row.worstP99Ms,
        'redirector CPU us/click': Math.round(row.redirectorCpuUsPerClick),
        'PostgreSQL CPU us/click': Math.round(row.postgresCpuUsPerClick),
        'not 3xx': row.non3xx,
        'socket errors': row.socketErrors,
      })),
    );
    console.log(`messages/s, PostgreSQL / LevelDB: ${ratios.messagesPostgresToLevelDb.toFixed(2)}`);
    console.log(`clicks/s, PostgreSQL / LevelDB (one redirector each): ${ratios.clicksPostgresToLevelDb.toFixed(2)}`);
    console.log(
      `clicks/s, two redirectors / one on PostgreSQL: ${ratios.clicksTwoRedirectorsToOne.toFixed(2)} (against LevelDB: ${ratios.clicksTwoRedirectorsToLevelDb.toFixed(2)})`,
    );
    for (const r of recorded)
      console.log(`${r.store}: ${r.answered} clicks answered, ${r.reported} counted by report${r.reported < r.answered ? ': CLICKS LOST' : ''}`);
    console.log(`load average: ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} at the start, ${loadAverage()} at the end`);

    const out = {
      date: new Date().toISOString(),
      version: PACKAGE_VERSION,
      host: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadAverageAtStart: loadAtStart, loadAverageAtEnd: os.loadavg() },
      workload: { count: COUNT, sessions: SESSIONS, rounds: ROUNDS, warmup: WARMUP, wrkSeconds: SECONDS, connections: CONNECTIONS, clickedMessages: MESSAGES },
      messages: messageRows,
      clicks: clickRows,
      ratios,
      recorded,
    };
    await fs.mkdir(path.dirname(OUT_FILE), { recursive: true });
    await fs.writeFile(OUT_FILE, `${JSON.stringify(out, null, 2)}\n`);
    console.log(`wrote ${path.relative(PROJECT_ROOT, OUT_FILE)}`);
    const bad = messageRows.some((row) => row.failures > 0) || clickRows.some((row) => row.non3xx > 0) || recorded.some((r) => r.reported < r.answered);
    return bad ? 1 : 0;
  } finally {
    for (const lab of labs) await lab.stop().catch((error: unknown) => console.error(`stopping a Postfix lab: ${String(error)}`));
    await leveldb?.stop();
    await fleet?.stop();
    for (const script of scripts) await fs.rm(path.dirname(script), { recursive: true, force: true });
    await dirs.cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
