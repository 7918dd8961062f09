/**
 * Retry delays: exponential in the attempt number, capped, with "equal jitter" (half the delay fixed,
 * half random) so that many senders retrying one receiver spread out, yet no retry comes immediately.
 */
export interface BackoffOptions {
  /** Delay cap of the first retry, in ms. */
  baseMs: number;
  /** Largest delay, in ms. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 300_000 };

/** The delay before retry number `attempt` (1 for the first retry). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 52);
  const cap = Math.min(options.maxMs, options.baseMs * 2 ** exponent);
  return Math.round(cap / 2 + random() * (cap / 2));
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects: the caller checks the signal). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
