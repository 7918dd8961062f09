// The retention sweep (src/app/retention-schedule.ts) on a fake clock: what is older than the configured
// number of days leaves a real LevelDB store, what is younger stays; stop() waits for a sweep running.
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRetentionSweep } from '../../src/app/retention-schedule.js';
import { LevelTrackStore, type MessageRecord, type SweepResult, type TrackEvent, type UrlRow } from '../../src/store/index.js';
import { TempDirs } from './helpers/processes.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const RETENTION_DAYS = 30;
/** The fake clock's now. */
const NOW = Date.UTC(2031, 5, 1, 12, 0, 0);
const SEND_ID = 'a100525';

function daysAgo(days: number): Date {
  return new Date(NOW - days * DAY_MS);
}

function idBytes(label: string): Buffer {
  return Buffer.from(label.padEnd(12, '.').slice(0, 12));
}

function messageAt(label: string, time: Date): MessageRecord {
  return {
    id: idBytes(`m-${label}`),
    recipients: [`${label}@mail.example`],
    emailCode: `ec-${label}`,
    sendId: SEND_ID,
    listId: 'l1',
    queueId: `Q${label}`,
    time,
  };
}

function rowFor(label: string): UrlRow {
  return { id: idBytes(`r-${label}`), sendId: SEND_ID, listId: 'l1', url: `https://shop.example/${label}`, linkName: '' };
}

function clickAt(label: string, time: Date): TrackEvent {
  return {
    id: idBytes(`e-${label}`),
    time,
    type: 'click',
    sendId: SEND_ID,
    listId: 'l1',
    recipient: `${label}@mail.example`,
    emailCode: '',
    url: `https://shop.example/${label}`,
    linkName: '',
    position: 1,
    part: 'h',
    ip: '192.0.2.1',
    userAgent: 'Mozilla/5.0 (X11) Firefox/131.0',
    machine: false,
  };
}

async function eventLabels(store: LevelTrackStore): Promise<string[]> {
  const labels: string[] = [];
  for await (const e of store.eventsBySendId(SEND_ID)) labels.push(e.recipient.split('@')[0]!);
  return labels;
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (err: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const NOTHING_SWEPT: SweepResult = { events: 0, urlRows: 0, messages: 0 };

describe('retention sweep on a real store', () => {
  const dirs = new TempDirs();
  let store: LevelTrackStore;

  beforeAll(async () => {
    store = new LevelTrackStore(path.join(await dirs.make('tm-retention-'), 'db'));
    await store.open();
    // Each message with its own row and a click a little after it.
    const ages: Record<string, number> = { ancient: 400, old: RETENTION_DAYS + 1, young: RETENTION_DAYS - 1, fresh: 0 };
    for (const [label, age] of Object.entries(ages)) {
      await store.recordMessage(messageAt(label, daysAgo(age)), [rowFor(label)]);
      await store.recordEvents([clickAt(label, new Date(daysAgo(age).getTime() + 60_000))]);
    }
  });
  afterAll(async () => {
    await store?.close();
    await dirs.cleanup();
  });

  it('runOnce() removes the messages, URL rows and events older than the configured days, keeps the rest, and reports what it removed', async () => {
    expect(await eventLabels(store)).toEqual(['ancient', 'old', 'young', 'fresh']);
    const reports: Array<{ result: SweepResult | null; err: unknown }> = [];
    const sweep = startRetentionSweep(store, RETENTION_DAYS, (result, err) => reports.push({ result, err }), { now: () => NOW });
    try {
      await sweep.runOnce();
    } finally {
      await sweep.stop();
    }
    expect(reports).toEqual([{ result: { events: 2, urlRows: 2, messages: 2 }, err: undefined }]);
    expect(await eventLabels(store)).toEqual(['young', 'fresh']);
    for (const gone of ['ancient', 'old']) {
      expect(await store.getMessage(idBytes(`m-${gone}`)), gone).toBeUndefined();
      expect(await store.getUrlRow(idBytes(`r-${gone}`)), gone).toBeUndefined();
    }
    for (const kept of ['young', 'fresh']) {
      expect(await store.getMessage(idBytes(`m-${kept}`)), kept).toMatchObject({ emailCode: `ec-${kept}` });
      expect(await store.getUrlRow(idBytes(`r-${kept}`)), kept).toMatchObject({ url: `https://shop.example/${kept}` });
    }
    expect(await store.countMessages(SEND_ID)).toBe(2);
  });

  it('a second sweep at the same time finds nothing more; stop() during a real sweep lets the store close after it', async () => {
    const reports: Array<SweepResult | null> = [];
    const sweep = startRetentionSweep(store, RETENTION_DAYS, (result) => reports.push(result), { now: () => NOW });
    const running = sweep.runOnce();
    await sweep.stop();
    expect(reports).toEqual([NOTHING_SWEPT]);
    await running;
  });
});

describe('retention sweep scheduling and failures', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sweeps with the cutoff "now minus the configured days" on the injected clock', async () => {
    const cutoffs: Date[] = [];
    const sweep = startRetentionSweep({ sweep: async (olderThan) => (cutoffs.push(olderThan), NOTHING_SWEPT) }, 7, () => undefined, { now: () => NOW });
    await sweep.runOnce();
    await sweep.stop();
    expect(cutoffs).toEqual([new Date(NOW - 7 * DAY_MS)]);
  });

  it('stop() waits for the sweep in progress, and a runOnce() meanwhile joins it instead of starting another', async () => {
    const pending = deferred<SweepResult>();
    let sweeps = 0;
    const reports: Array<SweepResult | null> = [];
    const sweep = startRetentionSweep({ sweep: () => (sweeps++, pending.promise) }, 7, (result) => reports.push(result), { now: () => NOW });
    const first = sweep.runOnce();
    const second = sweep.runOnce();
    expect(sweeps).toBe(1);
    let stopped = false;
    const stopping = sweep.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stopped).toBe(false);
    pending.resolve({ events: 3, urlRows: 1, messages: 1 });
    await stopping;
    expect(reports).toEqual([{ events: 3, urlRows: 1, messages: 1 }]);
    await Promise.all([first, second]);
  });

  it('a failing sweep is reported, never thrown, and the next one runs', async () => {
    const failure = new Error('disk on fire');
    const outcomes: Array<[SweepResult | null, unknown]> = [];
    let calls = 0;
    const sweep = startRetentionSweep(
      {
        sweep: async () => {
          calls++;
          if (calls === 1) throw failure;
          return NOTHING_SWEPT;
        },
      },
      7,
      (result, err) => outcomes.push([result, err]),
      { now: () => NOW },
    );
    await sweep.runOnce(); // resolves even though the sweep failed
    await sweep.runOnce();
    await sweep.stop();
    expect(outcomes).toEqual([
      [null, failure],
      [NOTHING_SWEPT, undefined],
    ]);
  });

  it('runs on its own in the background at the interval, and never again after stop()', async () => {
    vi.useFakeTimers();
    let sweeps = 0;
    const intervalMs = 60 * 60 * 1000;
    const sweep = startRetentionSweep({ sweep: async () => (sweeps++, NOTHING_SWEPT) }, 7, () => undefined, { now: () => NOW, intervalMs });
    await vi.advanceTimersByTimeAsync(intervalMs);
    const afterOneInterval = sweeps;
    expect(afterOneInterval).toBeGreaterThanOrEqual(1);
    await vi.advanceTimersByTimeAsync(3 * intervalMs);
    expect(sweeps).toBeGreaterThanOrEqual(afterOneInterval + 3);
    await sweep.stop();
    const atStop = sweeps;
    await vi.advanceTimersByTimeAsync(10 * intervalMs);
    expect(sweeps).toBe(atStop);
  });
});
