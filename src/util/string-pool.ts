import { BoundedMap } from './bounded-map.js';

/**
 * One copy of each string seen lately, for values that records kept for minutes repeat (a user agent,
 * a client address). Why: a header value read from a request head is a slice of that head, and a kept
 * slice keeps the whole head alive. The machine judge holds every recipient's recent events, and before
 * the pool each held its own request head (about 400 bytes of a browser's 1,300 per event held).
 * Bounded like the caches (./bounded-map.ts): a flood of distinct values only costs copies.
 */
export class StringPool {
  private readonly strings: BoundedMap<string>;

  constructor(readonly capacity: number) {
    this.strings = new BoundedMap<string>(capacity);
  }

  /** Entries held (at most capacity, rounded up to an even number). */
  get size(): number {
    return this.strings.size;
  }

  /** The held string equal to `text`, or a copy of it that no longer holds what it was cut from. */
  intern(text: string): string {
    const held = this.strings.get(text);
    if (held !== undefined) return held;
    const copy = detached(text);
    this.strings.set(copy, copy);
    return copy;
  }
}

/**
 * An equal string that refers to nothing else. V8 gives short slices their own characters; a longer
 * one points into its parent, so the copy is cut from a new flat string one character longer.
 */
export function detached(text: string): string {
  return text.length < 13 ? text : ` ${text}`.slice(1);
}
