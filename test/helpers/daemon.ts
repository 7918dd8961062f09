/**
 * Runs the built daemon (`node dist/cli/main.js serve ...`) for end-to-end tests and benchmarks:
 * free ports, a temp data dir, waits for the `"msg":"ready"` log line, collects the JSON log lines,
 * stops it with SIGTERM or kills it with SIGKILL, restarts it on the same ports and data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
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

export type LogLine = Record<string, unknown> & { msg?: string };

export interface DaemonOptions {
  /** Listen on a unix socket at this path instead of a free loopback TCP port. */
  unixSocket?: string;
  /** Data directory; a fresh temp dir (removed on stop) by default. */
  dataDir?: string;
  /** TOML configuration written to a file and passed with --config. */
  configToml?: string;
  /** How long to wait for the ready line (default 30 s). */
  readyTimeoutMs?: number;
}

const READY_MSG = 'ready';

/** Daemons still running when this process exits (a crashed test run) are killed with it. */
const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** Peak resident set size (VmHWM, kB) of a live process, from /proc/PID/status. */
export async function readPeakRssKb(pid: number): Promise<number | undefined> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) : undefined;
}

export class TrackmilterDaemon {
  private child: ChildProcess | undefined;
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({ code: null, signal: null });
  private stdoutTail = '';
  private stderr = '';
  /** Every JSON log line of every run of this daemon (across restarts), in order. */
  readonly logs: LogLine[] = [];
  /** Non-JSON stdout lines (should stay empty). */
  readonly strayOutput: string[] = [];
  private readonly ownsDataDir: boolean;

  private constructor(
    readonly milterSocket: string,
    readonly httpPort: number,
    readonly dataDir: string,
    private readonly configFile: string | undefined,
    ownsDataDir: boolean,
    private readonly readyTimeoutMs: number,
  ) {
    this.ownsDataDir = ownsDataDir;
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
    const daemon = new TrackmilterDaemon(milterSocket, await findFreePort(), dataDir, configFile, options.dataDir === undefined, options.readyTimeoutMs ?? 30_000);
    await daemon.launch();
    return daemon;
  }

  /** The value for Postfix's smtpd_milters (Postfix and the daemon share the inet:/unix: syntax). */
  get postfixSpec(): string {
    return this.milterSocket;
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Log lines with "msg":"message" (one per message the daemon finished). */
  messageLogs(): LogLine[] {
    return this.logs.filter((line) => line.msg === 'message');
  }

  private args(): string[] {
    const args = [DAEMON_ENTRY, 'serve', '--milter', this.milterSocket, '--http', `127.0.0.1:${this.httpPort}`, '--data', this.dataDir];
    if (this.configFile) args.push('--config', this.configFile);
    return args;
  }

  private async launch(): Promise<void> {
    this.stdoutTail = '';
    this.stderr = '';
    const child = spawn(process.execPath, this.args(), { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    liveChildren.add(child);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        liveChildren.delete(child);
        resolve({ code, signal });
      }),
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-20_000);
    });

    let markReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        this.stdoutTail = (this.stdoutTail + line + '\n').slice(-20_000);
        if (!line.trim()) continue;
        let parsed: LogLine;
        try {
          parsed = JSON.parse(line) as LogLine;
        } catch {
          this.strayOutput.push(line);
          continue;
        }
        this.logs.push(parsed);
        if (parsed.msg === READY_MSG) markReady();
      }
    });

    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      ready.then(() => 'ready' as const),
      this.exited.then(() => 'exited' as const),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.readyTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (outcome === 'ready') return;
    if (outcome === 'timeout') child.kill('SIGKILL');
    const { code, signal } = await this.exited;
    throw new Error(
      `trackmilter serve did not become ready (${outcome}, exit ${code ?? signal}): ${this.args().join(' ')}\n` +
        `stdout:\n${this.stdoutTail}\nstderr:\n${this.stderr}`,
    );
  }

  /** Peak resident set size (VmHWM, kB) of the running process, from /proc. */
  async peakRssKb(): Promise<number | undefined> {
    return this.running ? readPeakRssKb(this.pid) : undefined;
  }

  /** SIGTERM (graceful stop); resolves with the exit code, SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.child;
    if (!child || !this.running) return this.exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }

  /** SIGKILL: the daemon dies on the spot, as in a crash or an OOM kill. */
  async kill(): Promise<void> {
    if (!this.child || !this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Starts the daemon again with the same sockets, data dir and config (after stop or kill). */
  async restart(): Promise<void> {
    if (this.running) await this.stop();
    await this.launch();
  }

  /** Stops the daemon and removes the data dir it created. */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.configFile) await fs.rm(this.configFile, { force: true });
    if (this.ownsDataDir) await fs.rm(this.dataDir, { recursive: true, force: true });
  }

  /** Recent stderr and stdout, for failure messages. */
  diagnostics(): string {
    return `stderr:\n${this.stderr.slice(-4000)}\nstdout:\n${this.stdoutTail.slice(-4000)}`;
  }
}
