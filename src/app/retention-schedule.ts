// The background sweep that keeps the store to its configured age.
import type { TrackStore } from '../store/index.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const SWEEP_INTERVAL_MS = 60 * 60 * 1000;

type SweepResult = Awaited<ReturnType<TrackStore['sweep']>>;

export function startRetentionSweep(
  store: Pick<TrackStore, 'sweep'>,
  retentionDays: number,
  report: (result: SweepResult | null, err?: unknown) => void,
  options: { intervalMs?: number; now?: () => number } = {},
): { stop(): Promise<void>; runOnce(): Promise<void> } {
  const now = options.now ?? Date.now;
  let running: Promise<void> | null = null;
  const runOnce = (): Promise<void> => {
    running ??= store
      .sweep(new Date(now() - retentionDays * DAY_MS))
      .then(
        (result) => report(result),
        (err: unknown) => report(null, err),
      )
      .finally(() => {
        running = null;
      });
    return running;
  };
  const first = setTimeout(() => void runOnce(), 60_000);
  const timer = setInterval(() => void runOnce(), options.intervalMs ?? SWEEP_INTERVAL_MS);
  first.unref();
  timer.unref();
  return {
    /** Stops the timers and waits for a sweep in progress, so the store can close under it. */
    async stop() {
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
    runOnce,
  };
}
