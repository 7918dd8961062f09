/**
 * SIGKILLs a daemon every few seconds while a round runs, restarting it at once each time (as
 * systemd's Restart=always would), and works out from the daemon's own log how long each outage
 * lasted: from the kill to the first message the restarted daemon tracked.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { TrackmilterDaemon } from '../../test/helpers/daemon.js';

export interface KillRecord {
  killedAt: number;
  /** The restarted daemon logged "ready". */
  readyAt: number;
  /** The first message the restarted daemon finished as "modified" (undefined: none did). */
  firstTrackedAt?: number;
}

export class KillLoop {
  readonly kills: KillRecord[] = [];
  private stopping = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly daemon: TrackmilterDaemon,
    private readonly everyMs: number,
    private readonly maxKills = Number.POSITIVE_INFINITY,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopping && this.kills.length < this.maxKills) {
      await sleep(this.everyMs);
      if (this.stopping) return;
      const killedAt = Date.now();
      await this.daemon.kill();
      await this.daemon.restart();
      this.kills.push({ killedAt, readyAt: Date.now() });
    }
  }

  /** No more kills from now on (a restart under way completes). */
  halt(): void {
    this.stopping = true;
  }

  /** Halts, waits for a restart under way, and fills in each outage's end from the log. */
  async stop(): Promise<KillRecord[]> {
    this.halt();
    await this.loop;
    this.resolveRecoveries();
    return this.kills;
  }

  /** Fills in, from the daemon's log so far, the end of each outage. */
  resolveRecoveries(): void {
    const tracked = this.daemon
      .messageLogs()
      .filter((line) => line.outcome === 'modified')
      .map((line) => Date.parse(String(line.time)))
      .filter((time) => Number.isFinite(time))
      .sort((a, b) => a - b);
    for (const kill of this.kills) kill.firstTrackedAt = tracked.find((time) => time >= kill.killedAt);
  }
}
