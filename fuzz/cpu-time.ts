/** The CPU time of another process, for the supervisor's watchdog. */
import { readFileSync } from 'node:fs';

/** /proc reports times in USER_HZ ticks, 100 a second on every Linux architecture. */
const MS_PER_TICK = 10;

/** CPU time (user + system, all threads) that process `pid` has used, in ms; null where /proc cannot tell (not Linux, exited). */
export function processCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // Field 2, the command name, may hold blanks and parentheses: count from after its closing one (field 3 on).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[14 - 3]) + Number(fields[15 - 3]);
  return Number.isFinite(ticks) ? ticks * MS_PER_TICK : null;
}
