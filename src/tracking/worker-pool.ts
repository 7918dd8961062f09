// A pool of worker threads doing tracking's CPU work (MIME, decode, rewrite, re-encode) off the main
// thread, which keeps the sockets, the store and the redirector: a 10 MB message no longer holds up
// clicks, and a message that overruns its budget is really stopped (its worker terminated and replaced).
import { Worker } from 'node:worker_threads';
import { CodedError, errorCode, errorMessage } from '../util/errors.js';
import type { Keyring } from '../tokens/index.js';
import type { ConfigValues } from '../config/load.js';
import type { Logger } from '../util/log.js';
import { TrackingErrorCode } from './errors.js';
import { reviveOutcome, type WorkOutcome, type WorkReply } from './work-outcome.js';
import { transferable, transferOf, type WorkerEnvelope, type WorkerInit, type WorkerReply } from './worker-messages.js';

export interface TrackingPoolOptions {
  size: number;
  config: ConfigValues;
  keyring: Keyring;
  logger: Logger;
  /** The worker's module (default: ./tracking-worker); tests wrap it to make a worker die. */
  entry?: URL;
}

interface Job {
  id: number;
  msg: WorkerEnvelope;
  signal: AbortSignal;
  resolve: (outcome: WorkOutcome) => void;
  reject: (err: unknown) => void;
  onAbort: () => void;
}

interface Slot {
  worker: Worker;
  /** Loaded and holding its keyring: only then does it get messages. */
  ready: boolean;
  job: Job | null;
}

/**
 * Compiled, the worker runs dist/tracking/tracking-worker.js. From source (tests, tsx), the .ts: through
 * tsx registered in the worker itself, since a Worker's entry does not go through --import hooks.
 */
function newWorker(workerData: WorkerInit, entry?: URL): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const module = entry ?? new URL(fromSource ? './tracking-worker.ts' : './tracking-worker.js', import.meta.url);
  if (!module.pathname.endsWith('.ts')) return new Worker(module, { workerData });
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

/** Why a signal aborted, as an Error (the milter's signals carry CodedErrors; anything else is wrapped). */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new CodedError(TrackingErrorCode.WORKER_FAILED, `message work abandoned: ${String(reason)}`);
}

export interface TrackingPoolStats {
  size: number;
  busy: number;
  queued: number;
  /** Workers terminated (overran the budget, or died) and started again. */
  replaced: number;
  /** Messages done in a worker. */
  done: number;
}

export class TrackingPool {
  private slots: Slot[] = [];
  /** Jobs waiting for a worker: at most one per milter session in end of message. */
  private queue: Job[] = [];
  private readonly init: WorkerInit;
  private nextId = 1;
  private closed = false;
  private replaced = 0;
  private done = 0;

  private constructor(private readonly options: TrackingPoolOptions) {
    const { keyring } = options;
    const keys = keyring.kids.map((kid) => {
      const key = keyring.get(kid)!;
      return { kid, tokenKey: key.tokenKey, rowIdKey: key.rowIdKey };
    });
    this.init = { config: options.config, keyring: { keys, currentKid: keyring.current.kid } };
  }

  /** Starts `size` workers and resolves once each has loaded and built its keyring. */
  static async start(options: TrackingPoolOptions): Promise<TrackingPool> {
    const pool = new TrackingPool(options);
    try {
      await Promise.all(Array.from({ length: options.size }, () => pool.spawn()));
    } catch (err) {
      await pool.close();
      throw new CodedError(TrackingErrorCode.WORKER_START, `tracking workers cannot start: ${errorMessage(err)}`, { cause: err });
    }
    return pool;
  }

  stats(): TrackingPoolStats {
    return {
      size: this.slots.length,
      busy: this.slots.filter((s) => s.job).length,
      queued: this.queue.length,
      replaced: this.replaced,
      done: this.done,
    };
  }

  /**
   * The message's tracking outcome, worked out on a worker. Its body moves to the worker (the caller
   * must not read it afterwards). When the signal aborts, the job leaves the queue, or its worker is
   * terminated and replaced, and the promise rejects with the signal's reason.
   */
  run(msg: WorkerEnvelope, signal: AbortSignal): Promise<WorkOutcome> {
    if (this.closed) return Promise.reject(new CodedError(TrackingErrorCode.POOL_CLOSED, 'the tracking pool is closed'));
    if (signal.aborted) return Promise.reject(abortReason(signal));
    return new Promise<WorkOutcome>((resolve, reject) => {
      const job: Job = {
        id: this.nextId++,
        msg,
        signal,
        resolve,
        reject,
        onAbort: () => this.abort(job),
      };
      signal.addEventListener('abort', job.onAbort, { once: true });
      this.topUp();
      const idle = this.slots.find((s) => s.ready && !s.job);
      if (idle) this.dispatch(idle, job);
      else this.queue.push(job);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const err = new CodedError(TrackingErrorCode.POOL_CLOSED, 'the tracking pool is closed');
    for (const job of this.queue.splice(0)) this.settle(job, err);
    const slots = this.slots;
    this.slots = [];
    for (const slot of slots) if (slot.job) this.settle(slot.job, err);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private spawn(): Promise<void> {
    const worker = newWorker(this.init, this.options.entry);
    const slot: Slot = { worker, ready: false, job: null };
    this.slots.push(slot);
    return new Promise<void>((resolve, reject) => {
      const failed = (err: Error): void => {
        if (slot.ready) return this.lose(slot, err);
        // One that cannot even start is not started again at once: the next message tops the pool up.
        this.drop(slot);
        reject(err);
      };
      worker.on('message', (reply: WorkerReply) => {
        if (reply.kind !== 'ready') return this.finish(slot, reply);
        slot.ready = true;
        resolve();
        this.next(slot);
      });
      worker.on('error', failed);
      worker.on('exit', (code) => failed(new Error(`worker exited with code ${code}`)));
    });
  }

  private dispatch(slot: Slot, job: Job): void {
    slot.job = job;
    // The fields by name: a MessageContext also holds functions, which cannot cross.
    const { from, recipients, headers, queueId, clickMap } = job.msg;
    const body = transferable(job.msg.body);
    try {
      slot.worker.postMessage({ id: job.id, msg: { from, recipients, headers, queueId, body, ...(clickMap ? { clickMap } : {}) } }, transferOf(body));
    } catch (err) {
      // Something in the message that cannot cross (never expected): that message fails, not the pool.
      slot.job = null;
      this.settle(job, new CodedError(TrackingErrorCode.WORKER_FAILED, `message cannot be handed to a worker: ${errorMessage(err)}`, { cause: err }));
      this.next(slot);
    }
  }

  private next(slot: Slot): void {
    if (slot.job || !slot.ready || this.closed) return;
    const job = this.queue.shift();
    if (job) this.dispatch(slot, job);
  }

  /** Workers that could not start are missing: start them again, at most once per message. */
  private topUp(): void {
    for (let n = this.slots.length; n < this.options.size; n += 1) {
      this.spawn().catch((err: unknown) => {
        this.options.logger.error({ code: TrackingErrorCode.WORKER_START, err: errorMessage(err) }, 'tracking worker cannot start');
      });
    }
  }

  private finish(slot: Slot, reply: Exclude<WorkerReply, { kind: 'ready' }>): void {
    const job = slot.job;
    slot.job = null;
    if (job && job.id === reply.id) {
      this.done += 1;
      if (reply.kind === 'done') this.settle(job, null, reviveOutcome(reply.outcome as WorkReply));
      else this.settle(job, new CodedError(reply.code, reply.message));
    }
    this.next(slot);
  }

  /** The budget ran out or the MTA went away: a queued job just leaves, a running one takes its worker with it. */
  private abort(job: Job): void {
    const slot = this.slots.find((s) => s.job === job);
    if (!slot) {
      this.queue = this.queue.filter((j) => j !== job);
      this.settle(job, abortReason(job.signal));
      return;
    }
    slot.job = null;
    this.settle(job, abortReason(job.signal));
    // The reason's code tells a budget overrun (EFILTER_TIMEOUT) from an MTA gone (EMILTER_CLOSED).
    this.options.logger.warn({ worker: slot.worker.threadId, code: errorCode(job.signal.reason) }, 'tracking worker terminated with its message');
    this.replace(slot);
  }

  /** A worker that died (or threw outside a message): its message fails, and a new worker takes its place. */
  private lose(slot: Slot, err: Error): void {
    if (!this.slots.includes(slot)) return;
    const job = slot.job;
    slot.job = null;
    if (job) this.settle(job, new CodedError(TrackingErrorCode.WORKER_FAILED, `tracking worker failed: ${err.message}`, { cause: err }));
    this.options.logger.error({ code: TrackingErrorCode.WORKER_FAILED, err: err.message }, 'tracking worker failed; starting another');
    this.replace(slot);
  }

  private replace(slot: Slot): void {
    if (!this.slots.includes(slot) || this.closed) return;
    this.drop(slot);
    this.replaced += 1;
    this.topUp();
  }

  /** Out of the pool, and its thread stopped if it still runs. */
  private drop(slot: Slot): void {
    this.slots = this.slots.filter((s) => s !== slot);
    slot.worker.removeAllListeners();
    slot.worker.on('error', () => undefined);
    void slot.worker.terminate();
  }

  private settle(job: Job, err: unknown, outcome?: WorkOutcome): void {
    job.signal.removeEventListener('abort', job.onAbort);
    if (err === null && outcome) job.resolve(outcome);
    else job.reject(err);
  }
}
