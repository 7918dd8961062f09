// The built CLI (`node dist/cli/main.js`) as separate processes: `serve` and `redirector` daemons on
// free ports, restartable on the same data dir after a SIGKILL, and one-shot commands (report, events)
// that reach a running daemon the way a user's shell does.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, runCli, type RunResult } from '../../cli/daemon-process.js';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CLI_ENTRY = path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js');
export const CLI_BUILT = existsSync(CLI_ENTRY);
export { freePort };

/** Children still alive when the test process exits (a crashed run) die with it. */
const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** Temp directories made by a test file, all removed by cleanup(). */
export class TempDirs {
  private readonly made: string[] = [];

  async make(prefix = 'tm-daemon-'): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
    this.made.push(dir);
    return dir;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

export type DaemonRole = 'serve' | 'redirector';

export interface DaemonSpec {
  role: DaemonRole;
  /** The data directory (keys, LevelDB, admin token); the caller owns it. */
  dataDir: string;
  /** TOML written beside the data directory and passed with --config. */
  configToml?: string;
  /** Fixed HTTP port (e.g. the one links already point at); a free one otherwise. */
  httpPort?: number;
}

type LogLine = Record<string, unknown>;

export class DaemonProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private stdout = '';
  private stderr = '';
  readonly logs: LogLine[] = [];

  private constructor(
    readonly spec: DaemonSpec,
    readonly httpPort: number,
    readonly milterPort: number,
    readonly configFile: string | null,
  ) {}

  static async start(spec: DaemonSpec): Promise<DaemonProcess> {
    let configFile: string | null = null;
    if (spec.configToml !== undefined) {
      configFile = `${spec.dataDir}.toml`;
      await writeFile(configFile, spec.configToml);
    }
    const httpPort = spec.httpPort ?? (await freePort());
    const milterPort = spec.role === 'serve' ? await freePort() : 0;
    const daemon = new DaemonProcess(spec, httpPort, milterPort, configFile);
    await daemon.launch();
    return daemon;
  }

  get httpAddress(): string {
    return `127.0.0.1:${this.httpPort}`;
  }

  get baseUrl(): string {
    return `http://${this.httpAddress}`;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The flags that find this daemon: the same as it was started with. */
  get cliFlags(): string[] {
    return ['--http', this.httpAddress, '--data', this.spec.dataDir, ...(this.configFile ? ['--config', this.configFile] : [])];
  }

  private args(): string[] {
    const args = [CLI_ENTRY, this.spec.role, ...this.cliFlags];
    if (this.spec.role === 'serve') args.push('--milter', `inet:127.0.0.1:${this.milterPort}`);
    return args;
  }

  private async launch(): Promise<void> {
    this.stdout = '';
    this.stderr = '';
    const child = spawn(process.execPath, this.args(), { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    liveChildren.add(child);
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        liveChildren.delete(child);
        resolve();
      }),
    );
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-8000)));
    let markReady!: () => void;
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      this.stdout = (this.stdout + chunk.toString()).slice(-8000);
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        try {
          const parsed = JSON.parse(line) as LogLine;
          this.logs.push(parsed);
          if (parsed.msg === 'ready') markReady();
        } catch {
          // not a log line
        }
      }
    });
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      ready.then(() => 'ready' as const),
      this.exited.then(() => 'exited' as const),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 20_000))),
    ]);
    clearTimeout(timer);
    if (outcome === 'ready') return;
    child.kill('SIGKILL');
    await this.exited;
    throw new Error(`trackmilter ${this.spec.role} did not become ready (${outcome}): ${this.args().join(' ')}\n${this.diagnostics()}`);
  }

  /** SIGKILL, as a crash or an OOM kill: nothing gets to flush or close. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, SIGKILL if it has not exited after graceMs. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    const child = this.child!;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Sends a signal without waiting (SIGHUP to reload). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child!.kill(signal);
  }

  /** Starts again on the same ports, data dir and config. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  diagnostics(): string {
    return `stderr:\n${this.stderr}\nstdout:\n${this.stdout}`;
  }
}

/** Runs a CLI command to completion; a non-zero exit fails with its output. */
export async function cli(args: string[]): Promise<string> {
  const result: RunResult = await runCli(args, 20_000);
  if (result.code !== 0) throw new Error(`trackmilter ${args.join(' ')} exited ${result.code ?? result.signal}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** Copies a data dir's signing keys (only the keys) into another, keeping them private (0700 / 0600). */
export async function copyKeys(fromDataDir: string, toDataDir: string): Promise<void> {
  const from = path.join(fromDataDir, 'keys');
  const to = path.join(toDataDir, 'keys');
  await mkdir(to, { recursive: true, mode: 0o700 });
  await chmod(toDataDir, 0o700);
  await chmod(to, 0o700);
  for (const name of await readdir(from)) {
    await copyFile(path.join(from, name), path.join(to, name));
    await chmod(path.join(to, name), 0o600);
  }
}
