// V8 settings the long-running roles set for themselves, before their worker threads start.
import v8 from 'node:v8';

interface DaemonFlag {
  /** The flag as the daemon sets it. */
  flag: string;
  /** Matches any spelling of the same setting, so that a user's own choice stands. */
  chosen: RegExp;
}

const DAEMON_FLAGS: readonly DaemonFlag[] = [
  /**
   * V8's memory reducer runs full collections once a process has allocated little for a few seconds,
   * and those drop the object shapes only in-flight messages used: every function compiled against
   * them is thrown away. A milter between two sends, or under bench:mta between rounds, then compiles
   * its per-message paths again in every thread (under --trace-deopt: about 35 functions per worker
   * after each quiet spell). A daemon keeps its heaps at their working size instead.
   */
  { flag: '--no-memory-reducer', chosen: /^--(no-)?memory[-_]reducer(=|$)/ },
  /**
   * V8 starts marking the old generation again once the room left under its limit is less than the
   * young generation, and the limit it picks from its own speed left the milter no such room: with
   * 17 MB live, a limit of 41 MB and a slack of 24 (--trace-incremental-marking), so marking began
   * right after each full collection, 24 to 43 of them per 3,000 messages under bench:mta. Twice the
   * live heap leaves room for thousands of messages' promotions: 3 or 4 full collections per 3,000,
   * and the heap as big as before (54 MB committed against 51).
   */
  { flag: '--heap-growing-percent=100', chosen: /^--heap[-_]growing[-_]percent(=|$)/ },
];

/**
 * The daemon's V8 flags that node's own arguments do not set already. Only there: node refuses to
 * start with either of these in NODE_OPTIONS.
 */
export function daemonV8Flags(execArgv: readonly string[]): string[] {
  return DAEMON_FLAGS.filter(({ chosen }) => !execArgv.some((arg) => chosen.test(arg))).map(({ flag }) => flag);
}

export function applyDaemonV8Flags(): void {
  for (const flag of daemonV8Flags(process.execArgv)) v8.setFlagsFromString(flag);
}
