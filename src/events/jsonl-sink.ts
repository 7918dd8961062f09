/**
 * JSONL sink: appends each event as one line of JSON (./event-json.ts) to a file, for consumers that
 * tail it (like Momentum's jlog).
 *
 * Exactly once, across crashes: a batch is written with one append, then the runner advances the
 * cursor. If the process dies between the two, the batch comes again after restart; before writing, the
 * sink reads the file's last complete line and skips the entries up to and including that event id.
 * A line cut short (power loss, disk full) is truncated away first, so every line is whole JSON. Two
 * cases still repeat a batch: the file was rotated between the write and the crash (the skip looks at
 * the new, empty file), or batchSize shrank across the restart (the last id lies beyond the new batch).
 *
 * fsync policy: "always" syncs each batch before the cursor moves (lines survive power loss);
 * a number syncs at most that often (power loss can lose the last interval while the cursor, if the
 * feed does not sync either, may or may not have moved); "never" leaves it to the OS. A crash of the
 * process alone loses nothing under any policy.
 *
 * Rotation: rename the file, then call reopen() (the daemon does on SIGHUP): writing goes on in a new
 * file at the configured path. Writes and reopen are serialized, so a line is never split across files.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { errorMessage } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { EventsErrorCode, eventsError } from './errors.js';
import type { FeedEntry } from './feed.js';
import type { DeliveryPolicy, Sink } from './sink.js';

/** "always", "never", or an interval in ms. */
export type FsyncPolicy = 'always' | 'never' | number;

interface JsonlSinkOptions {
  path: string;
  /** The sink's cursor name. Default "jsonl". */
  name?: string;
  /** Default 1000 (ms). */
  fsync?: FsyncPolicy;
  /** Events per write. Default 500. */
  batchSize?: number;
  /** Mode of a file the sink creates. Default 0o640. */
  mode?: number;
  /** Retry delays after a failed write. Default base 1 s, max 5 min. */
  backoff?: Partial<BackoffOptions>;
  /** Skip a batch that still cannot be written after this long, ms. Default: never (keep retrying). */
  deadLetterAfterMs?: number;
  log?: Logger;
}

const NEWLINE = 0x0a;
const TAIL_CHUNK = 64 * 1024;

export class JsonlSink implements Sink {
  readonly name: string;
  readonly policy: DeliveryPolicy;
  readonly path: string;
  private readonly fsync: FsyncPolicy;
  private readonly mode: number;
  private readonly log: Logger;
  private handle: FileHandle | undefined;
  /** The id on the file's last line when it was opened: entries through it are already written. */
  private resumeAfterId: string | undefined;
  private dirty = false;
  private syncTimer: NodeJS.Timeout | undefined;
  /** Every file operation runs on this chain, one after another. */
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(options: JsonlSinkOptions) {
    this.path = options.path;
    this.name = options.name ?? 'jsonl';
    this.fsync = options.fsync ?? 1000;
    if (typeof this.fsync === 'number' && !(this.fsync > 0)) {
      throw eventsError(EventsErrorCode.INVALID, `jsonl ${this.name}: fsync interval must be a positive number of ms`);
    }
    this.mode = options.mode ?? 0o640;
    this.log = options.log ?? silentLogger;
    this.policy = {
      batchSize: Math.max(1, options.batchSize ?? 500),
      lingerMs: 0,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      deadLetterAfterMs: options.deadLetterAfterMs,
    };
    if (typeof this.fsync === 'number') {
      this.syncTimer = setInterval(() => void this.serialize(() => this.syncIfDirty()).catch(() => undefined), this.fsync);
      this.syncTimer.unref();
    }
  }

  deliver(entries: readonly FeedEntry[]): Promise<void> {
    return this.serialize(async () => {
      const handle = this.handle ?? (await this.openFile());
      let start = 0;
      if (this.resumeAfterId !== undefined) {
        start = entries.findIndex((entry) => entry.event.id === this.resumeAfterId) + 1;
        this.resumeAfterId = undefined;
      }
      if (start >= entries.length) return;
      const lines = entries.slice(start).map((entry) => `${JSON.stringify(entry.event)}\n`);
      try {
        await writeAll(handle, Buffer.from(lines.join('')));
        if (this.fsync === 'always') await handle.datasync();
        else this.dirty = true;
      } catch (err) {
        // Reopen (and so look at the tail again) before the retry: part of the batch may be written.
        await this.dropHandle();
        throw eventsError(EventsErrorCode.FILE_IO, `jsonl ${this.name}: cannot write ${this.path}: ${errorMessage(err)}`, err);
      }
    });
  }

  /** Closes the file and opens the configured path again (after logrotate renamed it). */
  reopen(): Promise<void> {
    return this.serialize(async () => {
      await this.syncIfDirty();
      await this.dropHandle();
      await this.openFile();
    });
  }

  close(): Promise<void> {
    if (this.syncTimer) clearInterval(this.syncTimer);
    this.closing ??= this.serialize(async () => {
      this.closed = true;
      try {
        await this.syncIfDirty();
      } finally {
        await this.dropHandle();
      }
    });
    return this.closing;
  }

  private serialize<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.chain.then(() => {
      if (this.closed) throw eventsError(EventsErrorCode.CLOSED, `jsonl ${this.name} is closed`);
      return operation();
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async openFile(): Promise<FileHandle> {
    let handle: FileHandle;
    try {
      handle = await open(this.path, 'a+', this.mode);
    } catch (err) {
      throw eventsError(EventsErrorCode.FILE_IO, `jsonl ${this.name}: cannot open ${this.path}: ${errorMessage(err)}`, err);
    }
    try {
      this.resumeAfterId = await this.recoverTail(handle);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw eventsError(EventsErrorCode.FILE_IO, `jsonl ${this.name}: cannot read the end of ${this.path}: ${errorMessage(err)}`, err);
    }
    this.handle = handle;
    return handle;
  }

  /** Cuts off an unfinished last line and returns the event id on the last whole one. */
  private async recoverTail(handle: FileHandle): Promise<string | undefined> {
    let size = (await handle.stat()).size;
    if (size === 0) return undefined;
    const lastNewline = await lastNewlineBefore(handle, size);
    if (lastNewline !== size - 1) {
      this.log.warn({ sink: this.name, path: this.path, bytes: size - lastNewline - 1 }, 'jsonl: removing an unfinished last line');
      size = lastNewline + 1;
      await handle.truncate(size);
    }
    if (size === 0) return undefined;
    const lineStart = (await lastNewlineBefore(handle, size - 1)) + 1;
    const line = Buffer.alloc(size - 1 - lineStart);
    await handle.read(line, 0, line.length, lineStart);
    try {
      const id = (JSON.parse(line.toString()) as { id?: unknown }).id;
      return typeof id === 'string' ? id : undefined;
    } catch {
      return undefined;
    }
  }

  private async syncIfDirty(): Promise<void> {
    if (!this.dirty || !this.handle || this.fsync === 'never') return;
    this.dirty = false;
    await this.handle.datasync();
  }

  private async dropHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
  }
}

async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  for (let offset = 0; offset < data.length;) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}

/** The offset of the last newline before `end`, or -1. */
async function lastNewlineBefore(handle: FileHandle, end: number): Promise<number> {
  const chunk = Buffer.alloc(TAIL_CHUNK);
  for (let stop = end; stop > 0;) {
    const start = Math.max(0, stop - TAIL_CHUNK);
    const { bytesRead } = await handle.read(chunk, 0, stop - start, start);
    const at = chunk.subarray(0, bytesRead).lastIndexOf(NEWLINE);
    if (at >= 0) return start + at;
    stop = start;
  }
  return -1;
}
