/** A send's events as the running daemon reports them (`trackmilter events --sendid`). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DAEMON_ENTRY, type TrackmilterDaemon } from '../../test/helpers/daemon.js';

const execFileAsync = promisify(execFile);

export interface StoredEvent {
  id: string;
  type: string;
  url?: string;
  [field: string]: unknown;
}

export async function storedEvents(daemon: TrackmilterDaemon, sendId = ''): Promise<StoredEvent[]> {
  const { stdout } = await execFileAsync(
    process.execPath,
    [DAEMON_ENTRY, 'events', '--sendid', sendId, '--http', `127.0.0.1:${daemon.httpPort}`, '--data', daemon.dataDir],
    { maxBuffer: 256 * 1024 * 1024 },
  );
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as StoredEvent);
}

/** The tracked links (`ORIGIN/c/...`) in a delivered body, in order. */
export function trackedLinks(body: Buffer, origin: string): string[] {
  return [...body.toString('latin1').matchAll(new RegExp(`${origin.replace(/[.]/g, '\\.')}/c/[^\\s"'<>]+`, 'g'))].map((m) => m[0]);
}

/** A click as a browser makes it (redirects not followed): status, Location, and how long it took. */
export async function click(url: string, timeoutMs = 30_000): Promise<{ status: number; location: string | null; ms: number }> {
  const started = performance.now();
  try {
    const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return { status: response.status, location: response.headers.get('location'), ms: performance.now() - started };
  } catch {
    return { status: 0, location: null, ms: performance.now() - started };
  }
}
