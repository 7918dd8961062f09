/**
 * Starts `trackmilter serve` on a data directory and reports whether it became ready or exited, and
 * with what: for start-up checks, where the interesting outcome is a refusal to start.
 */
import { spawn } from 'node:child_process';
import { DAEMON_ENTRY } from '../../test/helpers/daemon.js';
import { findFreePort } from '../../test/helpers/net.js';

export interface ServeAttempt {
  outcome: 'ready' | 'exited' | 'timeout';
  code: number | null;
  /** stdout and stderr together (JSON log lines and any plain message). */
  output: string;
}

/** Runs serve until it logs "ready" (then SIGKILLs it) or exits; never leaves it running. */
export async function attemptServe(dataDir: string, timeoutMs = 20_000): Promise<ServeAttempt> {
  const args = [DAEMON_ENTRY, 'serve', '--data', dataDir, '--milter', `inet:127.0.0.1:${await findFreePort()}`, '--http', `127.0.0.1:${await findFreePort()}`];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve) => {
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (/"msg":"ready"/.test(output)) resolve();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
  });
  let timer: NodeJS.Timeout | undefined;
  const outcome: ServeAttempt['outcome'] = await Promise.race([
    ready.then(() => 'ready' as const),
    exited.then(() => 'exited' as const),
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (outcome !== 'exited') child.kill('SIGKILL');
  const code = await exited;
  return { outcome, code: outcome === 'exited' ? code : null, output };
}
