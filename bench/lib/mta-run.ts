/**
 * One MTA throughput measurement: smtp-source -> lab Postfix (with or without a milter) -> smtp-sink.
 * Times from the first SMTP connection until the maillog shows every delivery, as
 * ../shared/bench/mta-rate.sh does.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PostfixLab, program } from '../../test/helpers/postfix-lab.js';
import { cpuMs } from './cpu.js';
import { envInt } from './figures.js';

const execFileAsync = promisify(execFile);

export interface SourceRun {
  count: number;
  sessions: number;
  messageFile: string;
}

export interface ThroughputResult {
  messages: number;
  sessions: number;
  seconds: number;
  messagesPerSecond: number;
  /** deferred + bounced + milter-reject lines in the maillog during the run (should be 0). */
  failures: number;
}

/** Sends `count` copies of a message with smtp-source over `sessions` parallel sessions. */
export async function runSmtpSource(lab: PostfixLab, run: SourceRun): Promise<void> {
  await execFileAsync(
    program('smtp-source'),
    [
      '-s',
      String(run.sessions),
      '-m',
      String(run.count),
      '-f',
      'news@example.com',
      '-t',
      'reader@example.net',
      '-F',
      run.messageFile,
      `127.0.0.1:${lab.smtpPort}`,
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
}

/** Sends and waits for every message to be delivered; returns the rate. */
export async function measureThroughput(lab: PostfixLab, run: SourceRun, timeoutMs = 600_000): Promise<ThroughputResult> {
  const before = await lab.maillogCounts();
  const started = process.hrtime.bigint();
  await runSmtpSource(lab, run);
  const after = await lab.waitForDeliveries(before.sent + run.count, timeoutMs);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const failures = after.deferred - before.deferred + (after.bounced - before.bounced) + (after.milterRejects - before.milterRejects);
  return { messages: run.count, sessions: run.sessions, seconds, messagesPerSecond: run.count / seconds, failures };
}

/**
 * measureThroughput, with the CPU time the milter's process (all threads) spent per message meanwhile
 * when its pid is given.
 */
export async function measureMilterRound(lab: PostfixLab, milterPid: number, run: SourceRun): Promise<{ result: ThroughputResult; cpuMsPerMessage: number }>;
export async function measureMilterRound(
  lab: PostfixLab,
  milterPid: number | undefined,
  run: SourceRun,
): Promise<{ result: ThroughputResult; cpuMsPerMessage?: number }>;
export async function measureMilterRound(
  lab: PostfixLab,
  milterPid: number | undefined,
  run: SourceRun,
): Promise<{ result: ThroughputResult; cpuMsPerMessage?: number }> {
  if (milterPid === undefined) return { result: await measureThroughput(lab, run) };
  const before = await cpuMs(milterPid);
  const result = await measureThroughput(lab, run);
  return { result, cpuMsPerMessage: ((await cpuMs(milterPid)) - before) / run.count };
}

/**
 * A private Postfix in front of a milter (none when `milterSpec` is undefined), warmed with `warmup`
 * messages. tempfail: a milter failure shows up as refused mail (and a failed run), never as silent
 * pass-through. If the lab cannot start, the milter is stopped before the error goes on.
 */
export async function startWarmLab(
  milterSpec: string | undefined,
  stopMilter: () => Promise<void>,
  run: { warmup: number; sessions: number; messageFile: string },
): Promise<PostfixLab> {
  const lab = await PostfixLab.start({ milter: milterSpec, defaultAction: 'tempfail', dumpMessages: false }).catch(async (error: unknown) => {
    await stopMilter();
    throw error;
  });
  if (run.warmup > 0) await measureThroughput(lab, { count: run.warmup, sessions: Math.min(run.sessions, run.warmup), messageFile: run.messageFile });
  return lab;
}

export interface MtaBenchSettings {
  count: number;
  sessions: number;
  rounds: number;
  warmup: number;
  links: number;
  transport: 'inet' | 'unix';
}

/** BENCH_COUNT, BENCH_SESSIONS, BENCH_ROUNDS, BENCH_WARMUP, BENCH_LINKS and BENCH_TRANSPORT, as the MTA benches read them. */
export function mtaBenchSettings(defaults: { rounds: number; transport: 'inet' | 'unix' }): MtaBenchSettings {
  const transport = process.env.BENCH_TRANSPORT || defaults.transport;
  if (transport !== 'inet' && transport !== 'unix') throw new Error(`BENCH_TRANSPORT must be inet or unix, got ${transport}`);
  return {
    count: envInt('BENCH_COUNT', 1000, 1),
    sessions: envInt('BENCH_SESSIONS', 20, 1),
    rounds: envInt('BENCH_ROUNDS', defaults.rounds, 1),
    warmup: envInt('BENCH_WARMUP', 5000),
    links: envInt('BENCH_LINKS', 40),
    transport,
  };
}
