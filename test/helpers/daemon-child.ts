/**
 * The process part of every test daemon (test/helpers/daemon.ts for e2e, stress and fuzz;
 * test/app/helpers/processes.ts for the daemon tests; test/helpers/cli-process.ts for the CLI
 * tests): spawns the built CLI, keeps its JSON log
 * lines, waits for `"msg":"ready"`, and stops, kills, signals and relaunches it. What to run (role,
 * ports, data) is the caller's.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export type LogLine = Record<string, unknown> & { msg?: string };

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const READY_MSG = 'ready';
const TAIL_CHARS = 20_000;

/** Children still running when the test process exits (a crashed run) are killed with it. */
const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

export class DaemonChild {
  private child: ChildProcess | undefined;
  private exited: Promise<ExitStatus> = Promise.resolve({ code: null, signal: null });
  private stdoutTail = '';
  private stderrTail = '';
  /** Every JSON log line of every run (across relaunches), in order. */
  readonly logs: LogLine[] = [];
  /** Non-JSON stdout lines (should stay empty). */
  readonly strayOutput: string[] = [];

  constructor(
    /** The node arguments (script first) of each launch. */
    private readonly args: () => string[],
    private readonly cwd: string,
    private readonly readyTimeoutMs: number,
  ) {}

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts a run and resolves once it logged "ready"; throws with its output if it exits or times out first. */
  async launch(): Promise<void> {
    this.stdoutTail = '';
    this.stderrTail = '';
    const args = this.args();
    const child = spawn(process.execPath, args, { cwd: this.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    liveChildren.add(child);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        liveChildren.delete(child);
        resolve({ code, signal });
      }),
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-TAIL_CHARS);
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
        this.stdoutTail = (this.stdoutTail + line + '\n').slice(-TAIL_CHARS);
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
    throw new Error(`trackmilter did not become ready (${outcome}, exit ${code ?? signal}): ${args.join(' ')}\n${this.diagnostics()}`);
  }

  /** SIGTERM (or `signal`), then SIGKILL if it has not exited after `graceMs`; resolves with how it exited. */
  async stop(graceMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitStatus> {
    const child = this.child;
    if (!child || !this.running) return this.exited;
    child.kill(signal);
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

  /** Sends a signal without waiting (SIGHUP to reload). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child!.kill(signal);
  }

  /** Recent stderr and stdout, for failure messages. */
  diagnostics(): string {
    return `stderr:\n${this.stderrTail.slice(-4000)}\nstdout:\n${this.stdoutTail.slice(-4000)}`;
  }
}
