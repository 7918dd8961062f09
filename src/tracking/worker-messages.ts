// What crosses the boundary between the main thread and a tracking worker, and how bytes cross it
// without being copied: an ArrayBuffer a Buffer owns whole is transferred (moved), anything else is
// copied once into one it owns, since cloning a view clones its whole backing store.
import type { ConfigValues } from '../config/load.js';
import type { KeyObject } from 'node:crypto';
import type { MessageContext } from '../milter/filter.js';

/** Key material for the worker's keyring: KeyObjects cross threads as they are. */
export interface WorkerKeys {
  keys: Array<{ kid: number; tokenKey: KeyObject; rowIdKey: KeyObject }>;
  currentKid: number;
}

export interface WorkerInit {
  config: ConfigValues;
  keyring: WorkerKeys;
}

/**
 * The part of a message the tracking work reads; `clickMap` asks for the HTML the dashboard's click
 * map keeps (a send's first message), made where the rest of the work is, off the main thread.
 */
export type WorkerEnvelope = Pick<MessageContext, 'from' | 'recipients' | 'headers' | 'body' | 'queueId'> & { clickMap?: boolean };

export interface WorkerJob {
  id: number;
  msg: WorkerEnvelope;
}

export type WorkerReply = { kind: 'ready' } | { id: number; kind: 'done'; outcome: unknown } | { id: number; kind: 'error'; code: string; message: string };

/** A buffer whose ArrayBuffer can be transferred: the same bytes when it owns it whole, else a copy that does. */
export function transferable(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes;
  return new Uint8Array(bytes);
}

/** The transfer list for one buffer: its ArrayBuffer when the buffer owns it whole, else nothing (cloned). */
export function transferOf(bytes: Uint8Array | null | undefined): ArrayBuffer[] {
  if (!bytes) return [];
  const buffer = bytes.buffer;
  // A slice of a larger buffer (or of Node's shared pool) must not be moved: other views use the rest.
  return buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength ? [buffer] : [];
}

/**
 * Structured clone turns Buffers into plain Uint8Arrays: make them Buffers again (views, no copy),
 * in place, wherever they sit in the value. Generic, so fields added to the tracking outcome ride along.
 */
export function reviveBuffers<T>(value: T): T {
  if (value instanceof Uint8Array) return (Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)) as T;
  if (Array.isArray(value)) {
    const list: unknown[] = value;
    for (let i = 0; i < list.length; i += 1) list[i] = reviveBuffers(list[i]);
  } else if (isPlainObject(value)) {
    const record: Record<string, unknown> = value;
    for (const [k, v] of Object.entries(record)) record[k] = reviveBuffers(v);
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
