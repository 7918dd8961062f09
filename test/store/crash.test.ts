import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { collect, message, openStore, tempDir, urlRow } from './fixtures.js';

const WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the writer until it has acknowledged `killAfter` messages, SIGKILLs it, returns what it acknowledged. */
async function writeUntilKilled(dir: string, first: number, killAfter: number): Promise<number[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, String(first)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const acknowledged: number[] = [];
  for await (const line of createInterface({ input: child.stdout })) {
    if (line === 'ready') continue;
    acknowledged.push(Number(line));
    if (acknowledged.length === killAfter) child.kill('SIGKILL');
  }
  expect(await exited, stderr).toBe('SIGKILL');
  return acknowledged;
}

describe('a writer SIGKILLed mid-write', () => {
  it('loses no acknowledged message, URL row or event, and the store opens cleanly, crash after crash', async () => {
    const dir = tempDir();
    const acknowledged: number[] = [];
    for (const [round, killAfter] of [
      [0, 1500],
      [1, 400],
      [2, 2500],
    ] as const) {
      acknowledged.push(...(await writeUntilKilled(dir, round * 1_000_000, killAfter)));

      const store = await openStore(dir);
      try {
        const recipients = new Set<string>();
        for (const sendId of ['s0', 's1', 's2']) {
          for (const e of await collect(store.eventsBySendId(sendId))) recipients.add(e.recipient);
        }
        const missing: string[] = [];
        for (const n of acknowledged) {
          const sendId = `s${n % 3}`;
          const stored = await store.getMessage(message(n, sendId).id);
          if (JSON.stringify(stored) !== JSON.stringify(message(n, sendId))) missing.push(`message ${n}`);
          for (const row of [urlRow(sendId, `https://x.example/${n % 50}`), urlRow(sendId, `https://x.example/only/${n}`)]) {
            if (!(await store.getUrlRow(row.id))) missing.push(`row ${row.url} of ${n}`);
          }
          if (!recipients.has(`r${n}@example.com`)) missing.push(`event ${n}`);
        }
        expect(missing).toEqual([]);
      } finally {
        await store.close();
      }
    }
    expect(acknowledged.length).toBeGreaterThanOrEqual(4400);
  }, 120_000);
});
