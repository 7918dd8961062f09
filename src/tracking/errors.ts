/** Error codes of tracking: the pool of worker threads that does a message's work off the main thread. */

export const TrackingErrorCode = {
  /** A worker thread died or threw outside the message work (or the message could not be handed over); it passed per milter.on_error. */
  WORKER_FAILED: 'ETRACKING_WORKER',
  /** The worker threads could not start (at daemon start). */
  WORKER_START: 'ETRACKING_WORKER_START',
  /** The pool is closed (stopping): the message passes per milter.on_error. */
  POOL_CLOSED: 'ETRACKING_POOL_CLOSED',
} as const;
