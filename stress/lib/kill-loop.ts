/**
 * SIGKILLs a daemon while a round runs, restarting it at once each time (as systemd's
 * Restart=always would), and works out from the daemon's own log how long each outage lasted:
 * from the kill to the first message the restarted daemon tracked.
 *
 * Kills come either on a clock (the long stress run: every few seconds, for as long as the round
 * lasts) or at points of progress (the quick CI run: after so many accepted messages). Progress
 * points make the number of kills independent of how fast the machine is: on a clock, a fast run
 * could finish its messages before the second kill came.
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

export type KillSchedule =
  /** A kill every `everyMs` after the last restart, at most `maxKills`. */
  | { everyMs: number; maxKills?: number }
  /** One kill as soon as `progress()` reaches each count (and the previous restart is done). */
  | { atProgress: readonly number[] };

export class KillLoop {
  readonly kills: KillRecord[] = [];
  private stopping = false;
  private progressCount = 0;
  private wakeProgress: (() => void) | undefined;
  private readonly loop: Promise<void>;

  constructor(
    private readonly daemon: TrackmilterDaemon,
    private readonly schedule: KillSchedule,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const schedule = this.schedule;
    if ('everyMs' in schedule) {
      const maxKills = schedule.maxKills ?? Number.POSITIVE_INFINITY;
      while (!this.stopping && this.kills.length < maxKills) {
        await sleep(schedule.everyMs);
        if (this.stopping) return;
        await this.killAndRestart();
      }
      return;
    }
    for (const point of schedule.atProgress) {
      while (!this.stopping && this.progressCount < point) await new Promise<void>((resolve) => (this.wakeProgress = resolve));
      if (this.stopping) return;
      await this.killAndRestart();
    }
  }

  private async killAndRestart(): Promise<void> {
    const killedAt = Date.now();
    await this.daemon.kill();
    await this.daemon.restart();
    this.kills.push({ killedAt, readyAt: Date.now() });
  }

  /** One more unit of progress (e.g. a message accepted); kills scheduled at this point go ahead. */
  progress(): void {
    this.progressCount += 1;
    this.wake();
  }

  /** No more kills from now on (a restart under way completes). */
  halt(): void {
    this.stopping = true;
    this.wake();
  }

  private wake(): void {
    const wake = this.wakeProgress;
    this.wakeProgress = undefined;
    wake?.();
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
