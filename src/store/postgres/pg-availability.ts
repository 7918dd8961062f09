/**
 * Whether PostgreSQL can be used now. The first call that finds it unreachable (or too slow) marks it
 * down; from then on calls fail at once with ESTORE_UNAVAILABLE instead of each waiting out a connect or
 * query timeout (a milter verdict, a click's 503, must not wait for a dead database), and a probe tries
 * it every `probeMs` until it answers. Then it is up again, and whoever waits for it (the outbox) is told.
 */
import { CodedError } from '../../util/errors.js';
import { StoreErrorCode } from '../errors.js';

export interface AvailabilityChange {
  available: boolean;
  /** The failure that made it unavailable (when going down). */
  error?: CodedError;
  /** How long it was unavailable (when coming back). */
  downMs?: number;
}

export class PgAvailability {
  private down: { since: number; error: CodedError } | null = null;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private stopped = false;
  private waiters: Array<() => void> = [];

  constructor(
    /** Resolves when PostgreSQL answers a trivial statement; rejects otherwise. */
    private readonly probe: () => Promise<void>,
    private readonly probeMs: number,
    private readonly onChange: (change: AvailabilityChange) => void = () => undefined,
  ) {}

  get available(): boolean {
    return this.down === null;
  }

  /** Since when it is unavailable, ms since the epoch; undefined while available. */
  get downSince(): number | undefined {
    return this.down?.since;
  }

  /** The error to fail a call with at once while down; null while available. */
  refusal(): CodedError | null {
    if (!this.down) return null;
    const { error, since } = this.down;
    return new CodedError(
      StoreErrorCode.UNAVAILABLE,
      `${error.message} (unavailable since ${new Date(since).toISOString()}; retried every ${this.probeMs} ms)`,
      {
        cause: error,
      },
    );
  }

  /** A call failed because the database is unreachable or too slow. */
  failed(error: CodedError): void {
    if (this.stopped || this.down) return;
    this.down = { since: Date.now(), error };
    this.onChange({ available: false, error });
    this.schedule(0);
  }

  /** A call succeeded: whatever the probe thinks, it is back. */
  succeeded(): void {
    if (!this.down) return;
    const downMs = Date.now() - this.down.since;
    this.down = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.onChange({ available: true, downMs });
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Resolves once available (at once if it is), or when stopped. */
  whenAvailable(): Promise<void> {
    if (!this.down || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const wake of this.waiters.splice(0)) wake();
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.timer || this.probing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runProbe();
    }, delayMs);
    this.timer.unref();
  }

  private async runProbe(): Promise<void> {
    if (!this.down || this.stopped) return;
    this.probing = true;
    let ok = false;
    try {
      await this.probe();
      ok = true;
    } catch {
      // Still down: the next probe is due in probeMs.
    } finally {
      this.probing = false;
    }
    if (ok) this.succeeded();
    else this.schedule(this.probeMs);
  }
}
