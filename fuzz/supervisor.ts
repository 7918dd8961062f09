/**
 * Runs a target in worker processes and watches them: a case that shows no progress for the target's
 * case timeout (plus a margin) of the worker's CPU time is a hang (the harness's checks after the
 * product's work, announced by the target, not counted), a worker that dies is a crash. Either way the worker is
 * killed, the case is pinned down (the worker is rerun from the last case it reported, reporting every
 * case), its input rebuilt from the seed and saved, and a new worker carries on after it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { processCpuMs } from './cpu-time.js';
import { caseRng } from './random.js';
import type { WorkerArgs, WorkerMessage } from './protocol.js';
import { emptyReport, PROJECT_ROOT, recordFinding, type TargetReport } from './report.js';
import { loadTarget } from './targets/index.js';
import type { FuzzCase, ProblemKind, TargetContext } from './target.js';

const WORKER = join(PROJECT_ROOT, 'fuzz', 'worker.ts');
/** Beyond the case timeout, before a silent worker is killed. */
const KILL_MARGIN_MS = 1_000;
/**
 * The watchdog times a case by the worker's CPU time where /proc tells it: a loaded or slower machine
 * stretches the wall time of a case, not the work it does. A worker that burns no CPU yet shows no
 * progress (waiting on a daemon that never answers) is caught by wall time, at this many case timeouts.
 */
const WALL_LIMIT_FACTOR = 6;
/**
 * How long the harness's own checks of one case may run (after the target's `checking()`): not the
 * product's time, yet bounded, so that a check that never ends is reported instead of stalling the run.
 */
const CHECK_LIMIT_MS = 60_000;
/** After a hang or crash without an exact case, rerun this many cases one by one. */
const EXACT_WINDOW = 5_000;

export interface SuperviseOptions {
  target: string;
  seed: number;
  seconds: number;
  firstCase?: number;
  /** Stop after this many cases (a single replayed case, or CI's fixed count); default unlimited. */
  maxCases?: number;
  log?: (line: string) => void;
}

interface WorkerOutcome {
  /** 'done': finished normally; 'hang' / 'died': killed or dead at `index`. */
  end: 'done' | 'hang' | 'died';
  /** The next case to run (done), or the case that hung / crashed. */
  index: number;
  /** Whether `index` is exactly the case at fault (reported in exact mode, or by the worker itself). */
  exact: boolean;
  detail: string;
}

export async function supervise(options: SuperviseOptions): Promise<TargetReport> {
  const report = emptyReport(options.target, options.seed, options.seconds);
  const log = options.log ?? ((line: string) => console.log(line));
  const target = await loadTarget(options.target);
  const started = Date.now();
  const deadline = started + options.seconds * 1000;
  const first = options.firstCase ?? 0;
  report.firstCase = first;
  const endCase = options.maxCases === undefined ? Number.POSITIVE_INFINITY : first + options.maxCases;
  const countersByWorker: Array<Record<string, number>> = [];
  let next = first;
  let exactUntil = 0;
  /** Cases already recorded as crashes by the worker's own report (not recorded twice). */
  const reportedCrashes = new Set<number>();
  /** A hang or death not yet pinned to one case; recorded as it is if the rerun does not repeat it. */
  let unpinned: WorkerOutcome | null = null;
  const record = async (kind: ProblemKind, index: number, detail: string): Promise<void> => {
    if (kind === 'crash' && reportedCrashes.has(index)) return;
    const testCase = await rebuildCase(options.target, options.seed, index);
    const saved = recordFinding(report, kind, index, testCase, detail, true);
    log(`  ${kind} at case ${index}: ${detail}${saved.file ? ` (saved ${saved.file})` : ''}`);
  };

  let pinning = 0;
  while ((next < endCase && Date.now() < deadline) || (unpinned && pinning++ < 3)) {
    const counters: Record<string, number> = {};
    countersByWorker.push(counters);
    // Pinning a failure down may run past the deadline: a hang found at the end must still be pinned.
    const runDeadline = unpinned ? Math.max(deadline, Date.now() + 2 * target.caseTimeoutMs + 5_000) : deadline;
    const runEnd = unpinned ? Math.min(endCase, exactUntil) : endCase;
    const args: WorkerArgs = {
      target: options.target,
      seed: options.seed,
      firstCase: next,
      endCase: Number.isFinite(runEnd) ? runEnd : null,
      deadline: runDeadline,
      exactUntil,
    };
    const outcome = await runWorker(args, target.caseTimeoutMs + KILL_MARGIN_MS, (m) => {
      if (m.t === 'counters') Object.assign(counters, m.counters);
      else if (m.t === 'note') {
        if (!report.notes.includes(m.text)) report.notes.push(m.text);
      } else if (m.t === 'problem') {
        if (m.kind === 'crash') reportedCrashes.add(m.index);
        const testCase: FuzzCase = { label: m.label, input: Buffer.from(m.input ?? '', 'base64'), ...(m.details ? { details: m.details } : {}) };
        const saved = recordFinding(report, m.kind, m.index, testCase, m.message, m.input !== undefined);
        log(`  ${m.kind} at case ${m.index}: ${m.message.split('\n')[0]}${saved.file ? ` (saved ${saved.file})` : ''}`);
      }
    });
    report.inputsTried = Math.max(report.inputsTried, outcome.index - first);
    if (unpinned && !(outcome.end !== 'done' && outcome.exact)) {
      await record(unpinned.end === 'hang' ? 'hang' : 'crash', unpinned.index, `${unpinned.detail} (not repeated when rerun case by case)`);
    }
    unpinned = null;
    if (outcome.end === 'done') {
      next = outcome.index;
      if (runEnd === endCase) break;
      continue;
    }
    report.restarts++;
    if (!outcome.exact) {
      unpinned = outcome;
      // Pin it down: the same cases again, each reported, from the last one we heard of.
      log(`  worker ${outcome.end} near case ${outcome.index} (${outcome.detail}); rerunning from there case by case`);
      next = outcome.index;
      exactUntil = outcome.index + EXACT_WINDOW;
      continue;
    }
    await record(outcome.end === 'hang' ? 'hang' : 'crash', outcome.index, outcome.detail);
    next = outcome.index + 1;
  }
  if (unpinned) await record(unpinned.end === 'hang' ? 'hang' : 'crash', unpinned.index, `${unpinned.detail} (at or shortly after this case)`);
  report.inputsTried = Math.max(report.inputsTried, next - first);
  report.elapsedMs = Date.now() - started;
  for (const counters of countersByWorker) {
    for (const [k, v] of Object.entries(counters)) report.counters[k] = (report.counters[k] ?? 0) + v;
  }
  return report;
}

async function rebuildCase(name: string, seed: number, index: number): Promise<FuzzCase> {
  const ctx: TargetContext = { count: () => undefined, note: () => undefined };
  const generate = await (await loadTarget(name)).generator(ctx);
  return generate(caseRng(seed, index), index);
}

function runWorker(args: WorkerArgs, silenceLimitMs: number, onMessage: (m: WorkerMessage) => void): Promise<WorkerOutcome> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(args)], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let lastIndex = args.firstCase;
    let lastExact = false;
    let lastBeat = Date.now();
    /** The worker's CPU time at the first watchdog tick after lastBeat (null: not read yet, or unknown). */
    let cpuAtBeat: number | null = null;
    let beatSeen = false;
    let finished: WorkerOutcome | null = null;
    let started = false;
    /** In the harness's checks of case lastIndex (which are not the product's time). */
    let checking = false;
    /** Over a limit at the last tick: killed only if still so at the next, after IPC messages that queued meanwhile are read. */
    let overAtLastTick = false;
    const watchdog = setInterval(() => {
      // The worker's own start-up (imports, a daemon) is not a case: only watch once cases run.
      if (!started || finished) return;
      const cpuNow = processCpuMs(child.pid);
      if (!beatSeen) {
        beatSeen = true;
        cpuAtBeat = cpuNow;
      }
      const wall = Date.now() - lastBeat;
      const cpu = cpuNow !== null && cpuAtBeat !== null ? cpuNow - cpuAtBeat : null;
      const over = checking ? wall > CHECK_LIMIT_MS : (cpu ?? wall) > silenceLimitMs || wall > WALL_LIMIT_FACTOR * silenceLimitMs;
      if (!over || !overAtLastTick) {
        overAtLastTick = over;
        return;
      }
      const detail = checking
        ? `the harness's checks of the case ran for ${wall} ms (the product had finished)`
        : `no progress for ${cpu === null ? `${wall} ms` : `${cpu} ms of CPU time (${wall} ms wall)`}`;
      finished = { end: 'hang', index: lastIndex, exact: lastExact || checking, detail };
      child.kill('SIGKILL');
    }, 100);
    const beat = (): void => {
      lastBeat = Date.now();
      beatSeen = false;
      overAtLastTick = false;
    };
    child.on('message', (raw) => {
      const m = raw as WorkerMessage;
      if (m.t === 'case') {
        started = true;
        checking = false;
        lastIndex = m.index;
        lastExact = m.exact;
        beat();
      } else if (m.t === 'checking') {
        checking = true;
        lastIndex = m.index;
        beat();
      } else if (m.t === 'done') {
        finished = { end: 'done', index: m.next, exact: true, detail: '' };
      } else if (m.t === 'problem' && m.kind === 'crash' && m.message.startsWith('uncaught')) {
        lastIndex = m.index;
        lastExact = true;
      }
      onMessage(m);
    });
    // 'close', not 'exit': it comes after the IPC channel is drained, so that no message still queued
    // ('done' among them) is lost and the worker taken for dead at an old case.
    child.on('close', (code, signal) => {
      clearInterval(watchdog);
      resolve(finished ?? { end: 'died', index: lastIndex, exact: lastExact, detail: `worker exited (${signal ?? `code ${code}`})` });
    });
  });
}
