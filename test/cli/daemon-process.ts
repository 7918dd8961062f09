// Runs the built CLI (`node dist/cli/main.js`) as a child process: the serve daemon on free ports
// with a temp data dir, and one-shot commands.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MAIN = path.join(ROOT, 'dist', 'cli', 'main.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export type LogLine = Record<string, unknown> & { msg?: string };

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
  readonly logs: LogLine[] = [];
  readonly stray: string[] = [];
  stderr = '';
  private buffer = '';
  private readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exited = false;

  private constructor(
    readonly child: ChildProcess,
    readonly milterPort: number,
    readonly httpPort: number,
    readonly dataDir: string,
  ) {
    child.stdout!.on('data', (d: Buffer) => {
      this.buffer += d.toString();
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (!line.trim()) continue;
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.stray.push(line);
        }
      }
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exit = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        this.exited = true;
        resolve({ code, signal });
      }),
    );
  }

  get milterSpec(): string {
    return `inet:127.0.0.1:${this.milterPort}`;
  }

  static async start(extraArgs: string[] = []): Promise<ServeProcess> {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tm-serve-'));
    const milterPort = await freePort();
    const httpPort = await freePort();
    const child = spawn(
      process.execPath,
      [MAIN, 'serve', '--milter', `inet:127.0.0.1:${milterPort}`, '--http', `127.0.0.1:${httpPort}`, '--data', path.join(dataDir, 'data'), ...extraArgs],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const p = new ServeProcess(child, milterPort, httpPort, dataDir);
    try {
      await p.waitForLog('ready line', (l) => l.msg === 'ready', 15_000);
    } catch (err) {
      await p.kill();
      throw new Error(`${(err as Error).message}; stderr: ${p.stderr}; stdout: ${JSON.stringify(p.logs)} ${p.stray.join('\n')}`);
    }
    return p;
  }

  async waitForLog(what: string, match: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find(match);
      if (found) return found;
      if (this.exited) throw new Error(`daemon exited while waiting for ${what}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends a signal and waits for the exit (SIGKILL after timeoutMs, reported as a failure by the caller). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.exited) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const result = await this.exit;
    clearTimeout(timer);
    await rm(this.dataDir, { recursive: true, force: true });
    return result;
  }

  async kill(): Promise<void> {
    if (!this.exited) this.child.kill('SIGKILL');
    await this.exit;
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
