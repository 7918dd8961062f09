/**
 * Group commit: calls that arrive while a write is in flight, or in the same turn of the event loop,
 * are written together as one batch. One LevelDB write (and, with sync, one fsync) then serves many
 * callers, and each caller still learns of its own records being written only when they are.
 */
interface Waiter<T> {
  item: T;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface GroupCommitStats {
  groups: number;
  calls: number;
  largestGroup: number;
}

export class GroupCommitter<T> {
  private queue: Waiter<T>[] = [];
  private writing: Promise<void> | undefined;
  private inFlightSize = 0;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];
  readonly stats: GroupCommitStats = { groups: 0, calls: 0, largestGroup: 0 };

  constructor(
    /** Writes the items of one group atomically; groups are written one after another, in order. */
    private readonly writeGroup: (items: T[]) => Promise<void>,
    private readonly maxGroupSize: number,
  ) {}

  /** Resolves once the group holding `item` is written; rejects with that group's error. */
  submit(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      // Wait for the rest of this turn's callers (setImmediate runs after the I/O callbacks of the
      // current poll phase) unless a write is in flight: then its completion starts the next group.
      if (!this.writing && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.startNextGroup();
        });
      }
    });
  }

  /** Calls submitted and not yet settled. */
  get pending(): number {
    return this.queue.length + (this.writing ? this.inFlightSize : 0);
  }

  /** Resolves when everything submitted so far has been written or has failed. */
  async drain(): Promise<void> {
    if (this.queue.length === 0 && !this.writing && !this.scheduled) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private startNextGroup(): void {
    if (this.writing) return;
    if (this.queue.length === 0) {
      for (const wake of this.idleWaiters.splice(0)) wake();
      return;
    }
    const group = this.queue.splice(0, this.maxGroupSize);
    this.inFlightSize = group.length;
    this.writing = this.writeAndSettle(group).finally(() => {
      this.writing = undefined;
      this.inFlightSize = 0;
      this.startNextGroup();
    });
  }

  private async writeAndSettle(group: Waiter<T>[]): Promise<void> {
    try {
      await this.writeGroup(group.map((w) => w.item));
    } catch (err) {
      for (const w of group) w.reject(err);
      return;
    }
    this.stats.groups += 1;
    this.stats.calls += group.length;
    this.stats.largestGroup = Math.max(this.stats.largestGroup, group.length);
    for (const w of group) w.resolve();
  }
}
