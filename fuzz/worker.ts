/**
 * A worker process: runs one target's cases from args.firstCase until the deadline, reporting each case
 * start (see protocol.ts) so that the supervisor can tell a hang or a crash and which case caused it.
 * Run by the supervisor as `node --import tsx fuzz/worker.ts '<json args>'` with an IPC channel.
 */
import { caseRng } from './random.js';
import { HEARTBEAT_MS, type WorkerArgs, type WorkerMessage } from './protocol.js';
import { loadTarget } from './targets/index.js';
import type { TargetContext } from './target.js';

/** Inputs of the first few findings with the same message are sent to be saved; later ones only counted. */
const INPUTS_PER_SIGNATURE = 3;

function send(message: WorkerMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as WorkerArgs;
  const counters: Record<string, number> = {};
  let current = args.firstCase;
  let lastBeat = 0;
  const ctx: TargetContext = {
    count: (name, by = 1) => {
      counters[name] = (counters[name] ?? 0) + by;
    },
    note: (text) => send({ t: 'note', text }),
    checking: () => {
      send({ t: 'checking', index: current });
      lastBeat = 0; // the supervisor must hear of the next case start, to time the product again
    },
  };
  process.on('uncaughtException', (err) => {
    send({ t: 'problem', index: current, kind: 'crash', message: `uncaught exception: ${err.stack ?? String(err)}`, label: '' });
    process.exit(70);
  });
  process.on('unhandledRejection', (err) => {
    send({
      t: 'problem',
      index: current,
      kind: 'crash',
      message: `unhandled rejection: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      label: '',
    });
    process.exit(70);
  });

  const target = await loadTarget(args.target);
  const session = await target.start(ctx);
  const seen = new Map<string, number>();
  let lastFlush = Date.now();
  let index = args.firstCase;
  const end = args.endCase ?? Number.POSITIVE_INFINITY;
  for (; index < end && Date.now() < args.deadline; index++) {
    current = index;
    const now = Date.now();
    const exact = index < args.exactUntil;
    if (exact || now - lastBeat >= HEARTBEAT_MS) {
      send({ t: 'case', index, exact });
      lastBeat = now;
    }
    const testCase = session.generate(caseRng(args.seed, index), index);
    let problems;
    try {
      problems = await session.execute(testCase, ctx);
    } catch (err) {
      problems = [{ kind: 'crash' as const, message: `exception: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}` }];
    }
    for (const p of problems) {
      const sig = `${p.kind}:${p.message.split('\n')[0]!.slice(0, 160)}`;
      const n = (seen.get(sig) ?? 0) + 1;
      seen.set(sig, n);
      send({
        t: 'problem',
        index,
        kind: p.kind,
        message: p.message,
        label: testCase.label,
        ...(n <= INPUTS_PER_SIGNATURE ? { input: testCase.input.toString('base64'), details: testCase.details ?? {} } : {}),
      });
    }
    if (Date.now() - lastFlush > 1000) {
      send({ t: 'counters', counters: { ...counters } });
      lastFlush = Date.now();
    }
  }
  await session.close();
  send({ t: 'counters', counters: { ...counters } });
  // Disconnecting closes the channel and cancels writes still queued to a supervisor slow to read:
  // 'done' (and the case reports before it) would be lost and the worker taken for dead.
  await new Promise<void>((resolve) => {
    if (process.send) process.send({ t: 'done', next: index } satisfies WorkerMessage, () => resolve());
    else resolve();
  });
  process.disconnect?.();
}

main().catch((err: unknown) => {
  send({ t: 'note', text: `worker failed to run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}` });
  process.exit(78);
});
