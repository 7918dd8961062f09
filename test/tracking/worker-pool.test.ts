import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig, type ConfigValues } from '../../src/config/load.js';
import { createKeyring, signingKey } from '../../src/tokens/index.js';
import { prepareTracking } from '../../src/tracking/tracking-filter.js';
import { TrackingPool } from '../../src/tracking/worker-pool.js';
import { inlineWork, pooledWork } from '../../src/tracking/tracking-work.js';
import { createLogger, silentLogger } from '../../src/util/log.js';
import { PassThrough } from 'node:stream';
import { bigHtmlMessage } from '../helpers/big-html.js';

const keyring = createKeyring([signingKey(2, Buffer.alloc(32, 4)), signingKey(5, Buffer.alloc(32, 7))], 5);
const config: ConfigValues = { ...defaultConfig(), 'tracking.domain': 't.example.org' };
const envelope = { from: { address: 'shop@sender.example', args: [] }, recipients: [{ address: 'reader@example.net', args: [] }], queueId: 'Q1' };
const never = new AbortController().signal;

/** A message of `bytes` with `links` links, as the milter hands it over. */
function message(bytes: number, links: number) {
  return { ...envelope, ...bigHtmlMessage(bytes, links) };
}

/** Where in a value a Uint8Array sits that is not a Buffer (what structured clone leaves of one). */
function plainByteArrays(value: unknown, at = '$'): string[] {
  if (value instanceof Uint8Array) return Buffer.isBuffer(value) ? [] : [at];
  if (Array.isArray(value)) return value.flatMap((v, i) => plainByteArrays(v, `${at}[${i}]`));
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => plainByteArrays(v, `${at}.${k}`));
  return [];
}

describe('tracking pool', () => {
  let pool: TrackingPool;
  beforeAll(async () => {
    pool = await TrackingPool.start({ size: 1, config, keyring, logger: silentLogger });
  });
  afterAll(async () => {
    await pool.close();
  });

  it('gives what prepareTracking gives on the main thread, with Buffers, and moves the body in', async () => {
    const inline = prepareTracking(message(200_000, 30), config, keyring);
    const sent = message(200_000, 30);
    const pooled = await pool.run(sent, never);
    // Moved, not copied: the caller's buffer is detached once the worker has it.
    expect(sent.body.byteLength).toBe(0);
    expect(inline.kind).toBe('track');
    expect(pooled.kind).toBe('track');
    if (inline.kind !== 'track' || pooled.kind !== 'track') return;
    expect(Buffer.isBuffer(pooled.plan.body)).toBe(true);
    expect(pooled.plan.body!.length).toBe(inline.plan.body!.length);
    // Only the count of rewritten links comes back: the main thread logs it, and the links were most of the reply.
    expect(pooled.plan.linkCount).toBe(30);
    expect(inline.plan.links).toHaveLength(30);
    expect(pooled.plan).not.toHaveProperty('links');
    // Row ids are a keyed hash of the row: the same in the worker, signed with the current key.
    const hex = (rows: Array<{ id: Uint8Array }>): string[] => rows.map((r) => Buffer.from(r.id).toString('hex')).sort();
    expect(hex(pooled.urlRows)).toEqual(hex(inline.urlRows));
    expect(pooled.urlRows.every((r) => Buffer.isBuffer(r.id))).toBe(true);
    expect(Buffer.isBuffer(pooled.record.id)).toBe(true);
    // The ids arrive packed in one buffer of their own, not each a view of a copied 8 KB pool slab.
    const ids = [pooled.record.id, ...pooled.urlRows.map((r) => r.id)];
    expect(new Set(ids.map((id) => id.buffer)).size).toBe(1);
    expect(pooled.record.id.buffer.byteLength).toBe(ids.reduce((sum, id) => sum + id.length, 0));
    // The reply's bytes are revived field by field: none may be left a plain Uint8Array.
    expect(plainByteArrays(pooled)).toEqual([]);
    expect(pooled.record.time).toBeInstanceOf(Date);
    expect(pooled.headerChanges.map((h) => h.name)).toEqual(inline.headerChanges.map((h) => h.name));
    expect(pool.stats()).toMatchObject({ size: 1, busy: 0, queued: 0, done: 1 });
  });

  it('makes the click map HTML in the worker when asked, the same as on the main thread, and only when asked', async () => {
    const inline = prepareTracking({ ...message(100_000, 12), clickMap: true }, config, keyring);
    const pooled = await pool.run({ ...message(100_000, 12), clickMap: true }, never);
    const plain = await pool.run(message(100_000, 12), never);
    if (inline.kind !== 'track' || pooled.kind !== 'track' || plain.kind !== 'track') throw new Error('expected tracked messages');
    expect(typeof pooled.clickMapHtml).toBe('string');
    expect(pooled.clickMapHtml).toBe(inline.clickMapHtml);
    expect(pooled.clickMapHtml).toContain('https://clickmap.trackmilter.invalid/h/12?u=');
    expect(plain.clickMapHtml).toBeUndefined();
  });

  it('terminates and replaces a worker whose message overruns the signal, then goes on', async () => {
    const controller = new AbortController();
    const slow = pool.run(message(10_000_000, 1000), controller.signal);
    // Queued behind it on the one worker: leaves the queue when its own signal aborts.
    const queuedController = new AbortController();
    const queued = pool.run(message(100_000, 5), queuedController.signal);
    await until(() => pool.stats().busy === 1 && pool.stats().queued === 1);
    queuedController.abort(new Error('queued budget'));
    await expect(queued).rejects.toThrow('queued budget');
    controller.abort(new Error('budget'));
    await expect(slow).rejects.toThrow('budget');
    expect(pool.stats()).toMatchObject({ replaced: 1, busy: 0, queued: 0 });
    // The new worker takes the next message.
    const next = await pool.run(message(100_000, 5), never);
    expect(next.kind).toBe('track');
    expect(pool.stats()).toMatchObject({ size: 1, replaced: 1 });
  });
});

describe('pooled work', () => {
  it('keeps bodies under the threshold on the calling thread, and sends the rest to the pool', async () => {
    const pool = await TrackingPool.start({ size: 1, config, keyring, logger: silentLogger });
    try {
      const work = pooledWork(pool, inlineWork(config, keyring), 50_000);
      const small = message(20_000, 3);
      expect((await work.prepare(small, never)).kind).toBe('track');
      expect(small.body.byteLength).toBeGreaterThan(0);
      expect(pool.stats().done).toBe(0);
      const large = message(60_000, 3);
      expect((await work.prepare(large, never)).kind).toBe('track');
      expect(large.body.byteLength).toBe(0);
      expect(pool.stats().done).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('rejects what is still queued or running when the pool closes', async () => {
    const pool = await TrackingPool.start({ size: 1, config, keyring, logger: silentLogger });
    const running = pool.run(message(10_000_000, 1000), never);
    const queued = pool.run(message(100_000, 5), never);
    const rejected = Promise.all([
      expect(running).rejects.toMatchObject({ code: 'ETRACKING_POOL_CLOSED' }),
      expect(queued).rejects.toMatchObject({ code: 'ETRACKING_POOL_CLOSED' }),
    ]);
    await pool.close();
    await rejected;
    await expect(pool.run(message(100_000, 5), never)).rejects.toMatchObject({ code: 'ETRACKING_POOL_CLOSED' });
  });
});

describe('a worker that dies', () => {
  it('fails only its own message with ETRACKING_WORKER, logs it, and a new worker takes the next', async () => {
    const lines: string[] = [];
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    const logger = createLogger({ level: 'warn', destination });
    const entry = new URL('./fixtures/dying-worker.ts', import.meta.url);
    const pool = await TrackingPool.start({ size: 1, config, keyring, logger, entry });
    try {
      // Alive and the real worker until then.
      expect((await pool.run(message(100_000, 5), never)).kind).toBe('track');
      const dying = pool.run({ ...message(100_000, 5), queueId: 'DIE' }, never);
      const queued = pool.run(message(100_000, 5), never);
      await expect(dying).rejects.toMatchObject({ code: 'ETRACKING_WORKER', message: expect.stringContaining('code 3') as unknown });
      // The message queued behind it was not lost with the worker: the new one does it.
      expect((await queued).kind).toBe('track');
      expect(pool.stats()).toMatchObject({ size: 1, replaced: 1, busy: 0, queued: 0, done: 2 });
      await until(() => lines.some((l) => l.includes('ETRACKING_WORKER')));
      expect(JSON.parse(lines.find((l) => l.includes('ETRACKING_WORKER'))!)).toMatchObject({ level: 'error', code: 'ETRACKING_WORKER' });
    } finally {
      await pool.close();
    }
  });
});

async function until(ok: () => boolean): Promise<void> {
  while (!ok()) await new Promise((resolve) => setTimeout(resolve, 5));
}
