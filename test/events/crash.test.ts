import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { idOf, onCleanup, range, tempDir, until } from './fixtures.js';
import { TestReceiver } from './receiver.js';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Child {
  process: ChildProcess;
  /** The highest event number whose append was acknowledged. */
  acknowledged: () => number;
  exited: Promise<NodeJS.Signals | null>;
  stderr: () => string;
}

function startChild(args: string[]): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  onCleanup(() => void child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  let acknowledged = -1;
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line === 'ready') resolve({ process: child, acknowledged: () => acknowledged, exited, stderr: () => stderr });
      else acknowledged = Number(line.split(' ')[1]);
    });
    void exited.then(() => reject(new Error(`child exited before ready: ${stderr}`)));
  });
}

/** Ids in order of first arrival, and how many arrived more than once. */
function firstArrivals(ids: string[]): { order: string[]; duplicates: number } {
  const seen = new Set<string>();
  const order: string[] = [];
  for (const id of ids) {
    if (!seen.has(id)) order.push(id);
    seen.add(id);
  }
  return { order, duplicates: ids.length - order.length };
}

describe('a delivering process SIGKILLed with a non-empty queue', () => {
  it('delivers every acknowledged event after a new process starts on the same directory', async () => {
    const dir = tempDir();
    const jsonl = path.join(dir, 'events.jsonl');
    const receiver = new TestReceiver('whsec-test-1');
    await receiver.start();
    onCleanup(() => receiver.stop());
    // Up for three batches, then down.
    receiver.answer = () => (receiver.requests.length < 3 ? 200 : 503);

    const first = await startChild([path.join(dir, 'outbox'), receiver.url, '0', '3000', jsonl]);
    await until('appends acknowledged', () => first.acknowledged() >= 1499, 20_000);
    first.process.kill('SIGKILL');
    expect(await first.exited, first.stderr()).toBe('SIGKILL');
    const acknowledgedBeforeKill = first.acknowledged();
    const acceptedBeforeKill = receiver.acceptedIds().length;
    expect(acceptedBeforeKill).toBeGreaterThan(0);
    expect(acceptedBeforeKill).toBeLessThan(acknowledgedBeforeKill);
    expect(receiver.requests.length).toBeGreaterThan(3); // it was retrying when killed

    receiver.answer = () => 200;
    const second = await startChild([path.join(dir, 'outbox'), receiver.url, '10000', '100', jsonl]);
    const expected = [...range(0, acknowledgedBeforeKill + 1), ...range(10000, 100)].map((n) => idOf(n));
    const arrived = () => new Set(receiver.acceptedIds());
    await until('every acknowledged event at the receiver', () => expected.every((id) => arrived().has(id)), 30_000);
    const jsonlIds = () =>
      readFileSync(jsonl, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as { id: string }).id);
    await until('every acknowledged event in the JSONL file', () => new Set(jsonlIds()).size >= expected.length, 30_000);
    second.process.kill('SIGKILL');
    await second.exited;

    // Webhook: all there, in feed order, duplicates at most one batch in flight at the kill.
    const webhook = firstArrivals(receiver.acceptedIds());
    // Ids are the run's prefix then n big-endian: their hex sorts as feed order.
    expect(webhook.duplicates).toBeLessThanOrEqual(20);
    expect(webhook.order).toEqual([...webhook.order].sort());
    for (const id of expected) expect(webhook.order).toContain(id);

    // JSONL: whole lines only, each event exactly once, in feed order.
    const lines = readFileSync(jsonl, 'utf8');
    expect(lines.endsWith('\n')).toBe(true);
    const file = firstArrivals(jsonlIds());
    expect(file.duplicates).toBe(0);
    expect(file.order).toEqual([...file.order].sort());
    for (const id of expected) expect(file.order).toContain(id);
  }, 60_000);
});
