/**
 * Runs the built daemon (`node dist/cli/main.js serve ...`) for end-to-end tests and benchmarks:
 * free ports, a temp data dir, waits for the `"msg":"ready"` log line, collects the JSON log lines,
 * stops it with SIGTERM or kills it with SIGKILL, restarts it on the same ports and data.
 */
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DaemonChild, type ExitStatus, type LogLine } from './daemon-child.js';
import { findFreePort } from './net.js';
import { PROJECT_ROOT } from './postfix-lab.js';

export const DAEMON_ENTRY = path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js');

/** The version the daemon announces (package.json). */
export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Why the daemon cannot be started, or undefined when it can. */
export function daemonUnavailableReason(): string | undefined {
  if (!existsSync(DAEMON_ENTRY)) return `${path.relative(PROJECT_ROOT, DAEMON_ENTRY)} is missing: run npm run build`;
  return undefined;
}

export type { LogLine };

export interface DaemonOptions {
  /** Listen on a unix socket at this path instead of a free loopback TCP port. */
  unixSocket?: string;
  /** Data directory; a fresh temp dir (removed on stop) by default. */
  dataDir?: string;
  /** TOML configuration written to a file and passed with --config. */
  configToml?: string;
  /** How long to wait for the ready line (default 30 s). */
  readyTimeoutMs?: number;
  /** Arguments to node itself, before the CLI's path (V8 flags, for instance). */
  nodeArgs?: string[];
}

/** Peak resident set size (VmHWM, kB) of a live process, from /proc/PID/status. */
export async function readPeakRssKb(pid: number): Promise<number | undefined> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) : undefined;
}

export class TrackmilterDaemon {
  private readonly process: DaemonChild;
  private readonly ownsDataDir: boolean;

  private constructor(
    readonly milterSocket: string,
    readonly httpPort: number,
    readonly dataDir: string,
    private readonly configFile: string | undefined,
    ownsDataDir: boolean,
    readyTimeoutMs: number,
    private readonly nodeArgs: readonly string[],
  ) {
    this.ownsDataDir = ownsDataDir;
    this.process = new DaemonChild(() => this.args(), PROJECT_ROOT, readyTimeoutMs);
  }

  /** Starts a daemon and resolves once it logged "ready". */
  static async start(options: DaemonOptions = {}): Promise<TrackmilterDaemon> {
    const reason = daemonUnavailableReason();
    if (reason) throw new Error(reason);
    const dataDir = options.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'trackmilter-data-')));
    let configFile: string | undefined;
    if (options.configToml !== undefined) {
      configFile = path.join(dataDir, '..', `${path.basename(dataDir)}.toml`);
      await fs.writeFile(configFile, options.configToml);
    }
    const milterSocket = options.unixSocket ? `unix:${options.unixSocket}` : `inet:127.0.0.1:${await findFreePort()}`;
    const daemon = new TrackmilterDaemon(
      milterSocket,
      await findFreePort(),
      dataDir,
      configFile,
      options.dataDir === undefined,
      options.readyTimeoutMs ?? 30_000,
      options.nodeArgs ?? [],
    );
    await daemon.process.launch();
    return daemon;
  }

  /** Every JSON log line of every run of this daemon (across restarts), in order. */
  get logs(): LogLine[] {
    return this.process.logs;
  }

  /** Non-JSON stdout lines (should stay empty). */
  get strayOutput(): string[] {
    return this.process.strayOutput;
  }

  /** The value for Postfix's smtpd_milters (Postfix and the daemon share the inet:/unix: syntax). */
  get postfixSpec(): string {
    return this.milterSocket;
  }

  get pid(): number {
    return this.process.pid;
  }

  get running(): boolean {
    return this.process.running;
  }

  /** Log lines with "msg":"message" (one per message the daemon finished). */
  messageLogs(): LogLine[] {
    return this.logs.filter((line) => line.msg === 'message');
  }

  private args(): string[] {
    const args = [...this.nodeArgs, DAEMON_ENTRY, 'serve', '--milter', this.milterSocket, '--http', `127.0.0.1:${this.httpPort}`, '--data', this.dataDir];
    if (this.configFile) args.push('--config', this.configFile);
    return args;
  }

  /** SIGTERM (graceful stop); resolves with the exit code, SIGKILL after `graceMs`. */
  stop(graceMs = 20_000): Promise<ExitStatus> {
    return this.process.stop(graceMs);
  }

  /** SIGKILL: the daemon dies on the spot, as in a crash or an OOM kill. */
  kill(): Promise<void> {
    return this.process.kill();
  }

  /** Starts the daemon again with the same sockets, data dir and config (after stop or kill). */
  async restart(): Promise<void> {
    if (this.running) await this.stop();
    await this.process.launch();
  }

  /** Stops the daemon and removes the data dir it created. */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.configFile) await fs.rm(this.configFile, { force: true });
    if (this.ownsDataDir) await fs.rm(this.dataDir, { recursive: true, force: true });
  }

  /** Recent stderr and stdout, for failure messages. */
  diagnostics(): string {
    return this.process.diagnostics();
  }
}
