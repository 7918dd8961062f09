// Runs the built CLI (`node dist/cli/main.js`) as a child process: the serve daemon on free ports
// with a temp data dir, and one-shot commands.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { findFreePort } from './net.js';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DaemonChild, type ExitStatus, type LogLine } from './daemon-child.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MAIN = path.join(ROOT, 'dist', 'cli', 'main.js');

export const freePort = (): Promise<number> => findFreePort();

export type { LogLine };

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a CLI command to completion (killed after timeoutMs). */
export function runCli(args: string[], timeoutMs = 15_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export class ServeProcess {
  private readonly process: DaemonChild;

  private constructor(
    readonly milterPort: number,
    readonly httpPort: number,
    readonly dataDir: string,
  ) {
    const args = [MAIN, 'serve', '--milter', this.milterSpec, '--http', `127.0.0.1:${httpPort}`, '--data', path.join(dataDir, 'data')];
    this.process = new DaemonChild(() => args, ROOT, 15_000);
  }

  get milterSpec(): string {
    return `inet:127.0.0.1:${this.milterPort}`;
  }

  get logs(): LogLine[] {
    return this.process.logs;
  }

  /** Non-JSON stdout lines (should stay empty). */
  get stray(): string[] {
    return this.process.strayOutput;
  }

  static async start(): Promise<ServeProcess> {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tm-serve-'));
    const p = new ServeProcess(await freePort(), await freePort(), dataDir);
    try {
      await p.process.launch();
    } catch (err) {
      await rm(dataDir, { recursive: true, force: true });
      throw err;
    }
    return p;
  }

  async waitForLog(what: string, match: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find(match);
      if (found) return found;
      if (!this.process.running) throw new Error(`daemon exited while waiting for ${what}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends a signal without waiting. */
  signal(signal: NodeJS.Signals): void {
    this.process.signal(signal);
  }

  /** Sends a signal and waits for the exit (SIGKILL after timeoutMs, reported as a failure by the caller). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<ExitStatus> {
    const result = await this.process.stop(timeoutMs, signal);
    await rm(this.dataDir, { recursive: true, force: true });
    return result;
  }

  async kill(): Promise<void> {
    await this.process.kill();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
