/** CPU time of a server under test, read from /proc (Linux). */
import { readdir, readFile } from 'node:fs/promises';

/**
 * CPU time (ms) used so far by a process and its children's processes (nginx's workers, PostgreSQL's
 * backends), all threads, exited children included: utime + stime (+ cutime + cstime) of
 * /proc/<pid>/stat. Unlike a rate, CPU per request hardly moves when something else loads the
 * machine, so it compares servers measured minutes apart.
 */
export async function cpuMs(pid: number): Promise<number> {
  const ticksPerMs = 100 / 1000; // USER_HZ is 100 on Linux
  const statOf = async (p: string): Promise<string[] | null> => {
    try {
      const text = await readFile(`/proc/${p}/stat`, 'utf8');
      return text.slice(text.lastIndexOf(')') + 2).split(' '); // fields from the 3rd on (state)
    } catch {
      return null;
    }
  };
  let ticks = 0;
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const fields = await statOf(p);
    if (!fields) continue;
    // fields[1] is ppid, fields[11] utime, fields[12] stime; fields[13] cutime and fields[14] cstime,
    // children that have exited (PostgreSQL's backends once the pool closes idle connections)
    if (Number(p) === pid) ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    else if (Number(fields[1]) === pid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / ticksPerMs;
}
