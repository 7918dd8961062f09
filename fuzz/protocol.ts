/** Messages between the supervisor (run.ts) and a worker process (worker.ts), over the IPC channel. */
import type { ProblemKind } from './target.js';

export interface WorkerArgs {
  target: string;
  seed: number;
  /** First case index to run. */
  firstCase: number;
  /** Stop before this index (exclusive); null for "until the deadline" (JSON has no Infinity). */
  endCase: number | null;
  /** Epoch milliseconds after which no new case starts. */
  deadline: number;
  /** Report every case start until this index, so that a hang or a crash is pinned to one case. */
  exactUntil: number;
}

export type WorkerMessage =
  /** Case `index` is starting (sent for every case in exact mode, else at most every HEARTBEAT_MS). */
  | { t: 'case'; index: number; exact: boolean }
  /**
   * The product's work on case `index` is done and the harness's own checks of it begin: the watchdog
   * times the product, not the harness (a check may be slow on a huge input without the product being
   * so). The next case start is always sent after this.
   */
  | { t: 'checking'; index: number }
  | { t: 'problem'; index: number; kind: ProblemKind; message: string; label: string; input?: string; details?: Record<string, unknown> }
  | { t: 'counters'; counters: Record<string, number> }
  | { t: 'note'; text: string }
  /** All cases up to (not including) `next` ran. */
  | { t: 'done'; next: number };

export const HEARTBEAT_MS = 20;
