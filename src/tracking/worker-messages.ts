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

/** Structured clone turns a Buffer into a plain Uint8Array: a Buffer view of the same bytes again, no copy. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A job's envelope as it arrives in the worker: its body a Buffer again. */
export function reviveEnvelope(msg: WorkerEnvelope): WorkerEnvelope {
  msg.body = asBuffer(msg.body);
  return msg;
}
