/**
 * The C echo milter, bench/echo-milter.c (libmilter; adds `X-Echo: 1`, hands the body
 * back unchanged): the floor for the MTA benchmark and a known-good peer for checking the harness.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { findFreePort, pollUntil, waitForTcpPort } from './net.js';
import { PROJECT_ROOT } from './postfix-lab.js';

const execFileAsync = promisify(execFile);

export const ECHO_MILTER_SOURCE = path.join(PROJECT_ROOT, 'bench', 'echo-milter.c');

/** Why the echo milter cannot be built here, or undefined when it can. */
export function echoMilterUnavailableReason(): string | undefined {
  if (!existsSync(ECHO_MILTER_SOURCE)) return `${ECHO_MILTER_SOURCE} is absent`;
  if (!existsSync('/usr/include/libmilter/mfapi.h')) return 'libmilter-dev is not installed';
  return undefined;
}

/** Compiles echo-milter.c into `outDir` (a fresh temp dir by default); returns the binary's path. */
export async function buildEchoMilter(outDir?: string): Promise<string> {
  const dir = outDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'echo-milter-')));
  const binary = path.join(dir, 'echo-milter');
  await execFileAsync('cc', ['-O2', '-o', binary, ECHO_MILTER_SOURCE, '-lmilter', '-lpthread']);
  return binary;
}

export class EchoMilter {
  private exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    /** The address for Postfix's smtpd_milters: inet:127.0.0.1:PORT or unix:/path. */
    readonly postfixSpec: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /**
   * Starts the milter on a free loopback port, or on a unix socket at `unixSocket` (created with
   * umask 0, so that Postfix's smtpd, user postfix, may connect: keep it in a private directory).
   */
  static async start(binary: string, options: { unixSocket?: string } = {}): Promise<EchoMilter> {
    if (options.unixSocket) {
      const socketPath = options.unixSocket;
      const child = spawn('/bin/sh', ['-c', 'umask 000; exec "$0" "$@"', binary, `unix:${socketPath}`], { stdio: ['ignore', 'ignore', 'inherit'] });
      const milter = new EchoMilter(child, `unix:${socketPath}`);
      await pollUntil(`echo milter socket ${socketPath}`, () => (existsSync(socketPath) ? true : undefined), 10_000);
      return milter;
    }
    const port = await findFreePort();
    const child = spawn(binary, [`inet:${port}@127.0.0.1`], { stdio: ['ignore', 'ignore', 'inherit'] });
    const milter = new EchoMilter(child, `inet:127.0.0.1:${port}`);
    await waitForTcpPort(port);
    return milter;
  }

  /** SIGKILL: libmilter polls for SIGTERM only every few seconds, and this milter keeps no state. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
