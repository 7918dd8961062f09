/**
 * One MTA throughput measurement: smtp-source -> lab Postfix (with or without a milter) -> smtp-sink.
 * Times from the first SMTP connection until the maillog shows every delivery, as
 * ../shared/bench/mta-rate.sh does.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { program, type PostfixLab } from '../../test/helpers/postfix-lab.js';

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
