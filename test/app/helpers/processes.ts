// The built CLI (`node dist/cli/main.js`) as separate processes: `serve` and `redirector` daemons on
// free ports, restartable on the same data dir after a SIGKILL, and one-shot commands (report, events)
// that reach a running daemon the way a user's shell does.
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, runCli, type RunResult } from '../../helpers/cli-process.js';
import { DaemonChild, type LogLine } from '../../helpers/daemon-child.js';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CLI_ENTRY = path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js');
export const CLI_BUILT = existsSync(CLI_ENTRY);
export { freePort };

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
  /** Options for node before the program (bench:truth's --import of its replay clock). */
  nodeOptions?: string[];
}

export class DaemonProcess {
  private readonly process: DaemonChild;

  private constructor(
    readonly spec: DaemonSpec,
    readonly httpPort: number,
    readonly milterPort: number,
    readonly configFile: string | null,
  ) {
    this.process = new DaemonChild(() => this.args(), PROJECT_ROOT, 20_000);
  }

  static async start(spec: DaemonSpec): Promise<DaemonProcess> {
    let configFile: string | null = null;
    if (spec.configToml !== undefined) {
      configFile = `${spec.dataDir}.toml`;
      await writeFile(configFile, spec.configToml);
    }
    const httpPort = spec.httpPort ?? (await freePort());
    const milterPort = spec.role === 'serve' ? await freePort() : 0;
    const daemon = new DaemonProcess(spec, httpPort, milterPort, configFile);
    await daemon.process.launch();
    return daemon;
  }

  get logs(): LogLine[] {
    return this.process.logs;
  }

  /** The running process's id (-1 when stopped). */
  get pid(): number {
    return this.process.pid;
  }

  get httpAddress(): string {
    return `127.0.0.1:${this.httpPort}`;
  }

  get baseUrl(): string {
    return `http://${this.httpAddress}`;
  }

  get running(): boolean {
    return this.process.running;
  }

  /** A serve daemon's milter address, as Postfix's smtpd_milters takes it. */
  get milterSpec(): string {
    return `inet:127.0.0.1:${this.milterPort}`;
  }

  /** The flags that find this daemon: the same as it was started with. */
  get cliFlags(): string[] {
    return ['--http', this.httpAddress, '--data', this.spec.dataDir, ...(this.configFile ? ['--config', this.configFile] : [])];
  }

  private args(): string[] {
    const args = [...(this.spec.nodeOptions ?? []), CLI_ENTRY, this.spec.role, ...this.cliFlags];
    if (this.spec.role === 'serve') args.push('--milter', this.milterSpec);
    return args;
  }

  /** SIGKILL, as a crash or an OOM kill: nothing gets to flush or close. */
  kill(): Promise<void> {
    return this.process.kill();
  }

  /** SIGTERM, SIGKILL if it has not exited after graceMs. */
  async stop(graceMs = 10_000): Promise<void> {
    await this.process.stop(graceMs);
  }

  /** Sends a signal without waiting (SIGHUP to reload). */
  signal(signal: NodeJS.Signals): void {
    this.process.signal(signal);
  }

  /** Starts again on the same ports, data dir and config. */
  async restart(): Promise<void> {
    await this.stop();
    await this.process.launch();
  }

  diagnostics(): string {
    return this.process.diagnostics();
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
