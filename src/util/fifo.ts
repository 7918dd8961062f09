/**
 * A first-in first-out queue whose shift is O(1). Array.prototype.shift moves every element left, so
 * draining n queued items costs n²/2 moves: a milter client that sends tens of thousands of packets
 * while one end of message runs made the session spend seconds in shift alone.
 */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The oldest item, or undefined when empty. */
  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    // The slot lets go of the item, so a drained packet can be collected before the queue empties.
    this.items[this.head++] = undefined;
    // Drop the consumed front once it is most of the array: amortised O(1), memory bounded by 2x.
    if (this.head === this.items.length) this.clear();
    else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
