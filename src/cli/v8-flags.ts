// V8 settings the long-running roles set for themselves, before their worker threads start.
import v8 from 'node:v8';

/**
 * V8's memory reducer runs full collections once a process has allocated little for a few seconds,
 * and those drop the object shapes only in-flight messages used: every function compiled against
 * them is thrown away. A milter between two sends, or under bench:mta between rounds, then compiles
 * its per-message paths again in every thread (under --trace-deopt: about 35 functions per worker
 * after each quiet spell). A daemon keeps its heaps at their working size instead. Whoever wants
 * the reducer passes --memory-reducer in NODE_OPTIONS or to node, and that choice stands.
 */
export function daemonV8Flags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  const chosen = given.some((arg) => /^--(no-)?memory[-_]reducer(=|$)/.test(arg));
  return chosen ? [] : ['--no-memory-reducer'];
}

export function applyDaemonV8Flags(): void {
  for (const flag of daemonV8Flags(process.execArgv, process.env.NODE_OPTIONS)) v8.setFlagsFromString(flag);
}
