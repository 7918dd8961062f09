/** Memory of a live process from /proc/PID/status: current (VmRSS) and peak (VmHWM) resident set, kB. */
import fs from 'node:fs/promises';

async function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number | undefined> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) : undefined;
}

export const readRssKb = (pid: number) => statusField(pid, 'VmRSS');
export const readPeakRssKb = (pid: number) => statusField(pid, 'VmHWM');

export const MB = 1024 * 1024;
