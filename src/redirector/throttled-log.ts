/**
 * Logging for things an attacker controls the rate of (oversized requests, slow clients, store
 * failures under load): the first occurrence is logged, then at most one line per key and interval
 * saying how many were left out. Counting them is the metrics' job; this keeps the journal readable.
 */
import type { Logger } from '../util/log.js';

export class ThrottledLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
  ) {}

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const entry = this.last.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed += 1;
      return;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.last.set(key, { at: now, suppressed: 0 });
    this.logger.warn(suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }
}
