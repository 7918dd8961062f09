/**
 * The PostgreSQL store's local outbox (src/store/postgres/pg-outbox.ts) on a real private cluster and
 * a real LevelDB: events recorded while the server is down are acknowledged from the outbox and written,
 * in order, when it is back; they survive a restart of trackmilter; a record PostgreSQL refuses is set
 * aside without holding back the rest; the limits refuse, and say so.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PgTrackStore, type PgStoreOptions } from '../../../src/store/postgres/pg-store.js';
import { postgresBinaries, startPostgres, type PostgresCluster } from '../../helpers/postgres.js';
import { capturingLogger, until } from '../../helpers/log-capture.js';
import { collect, event } from '../fixtures-core.js';

const binaries = postgresBinaries();
if ('missing' in binaries) console.warn(binaries.missing);

const at = (seconds: number): Date => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));

describe.skipIf('missing' in binaries)('the PostgreSQL store outbox', () => {
  let cluster: PostgresCluster;
  let tmp: string;
  beforeAll(async () => {
    cluster = await startPostgres();
    tmp = await mkdtemp(path.join(os.tmpdir(), 'tm-pg-outbox-'));
  });
  afterAll(async () => {
    await cluster?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  const open: PgTrackStore[] = [];
  afterEach(async () => {
    if (!cluster) return;
    await cluster.start();
    for (const store of open.splice(0)) await store.close();
  });
  let dirs = 0;
  const outboxDir = (): string => path.join(tmp, `outbox-${++dirs}`);
  async function storeOn(
    url: string,
    dir: string,
    options: PgStoreOptions = {},
    outbox: Partial<NonNullable<PgStoreOptions['outbox']>> = {},
  ): Promise<PgTrackStore> {
    const store = new PgTrackStore({ url, retryMs: 100, connectTimeoutMs: 2000, ...options, outbox: { dir, ...outbox } });
    await store.open();
    open.push(store);
    return store;
  }
  const freshUrl = async (): Promise<string> => cluster.url(await cluster.createDatabase());

  it('events recorded while the server is down are acknowledged, then written in order once it is back', async () => {
    const url = await freshUrl();
    const store = await storeOn(url, outboxDir());
    await store.recordEvents([event('s1', at(1))]);
    await cluster.stopServer();
    // Each resolves: kept on this host's disk. A later verdict of one of them comes after it.
    const ids: Buffer[] = [];
    for (let i = 2; i <= 40; i++) {
      const e = event('s1', at(i));
      ids.push(Buffer.from(e.id));
      await store.recordEvents([e]);
    }
    const late = event('s1', at(5), { id: ids[3]! });
    await store.recordVerdicts([{ ...late, machine: true, machineReason: 'scanner-burst' }]);
    expect(store.health()).toMatchObject({ available: false, outbox: { waiting: 40, written: 0 } });
    await cluster.start();
    await until(() => store.health().outbox?.waiting === 0);
    expect(store.health()).toMatchObject({ available: true, outbox: { waiting: 0, written: 40, rejected: 0 } });
    const stored = await collect(store.eventsBySendId('s1'));
    expect(stored.map((e) => e.time)).toEqual(Array.from({ length: 40 }, (_, i) => at(i + 1)));
    expect(stored.find((e) => Buffer.from(e.id).equals(ids[3]!))).toMatchObject({ machine: true, machineReason: 'scanner-burst' });
    // Written once, back to the direct path.
    await store.recordEvents([event('s1', at(41))]);
    expect(await collect(store.eventsBySendId('s1'))).toHaveLength(41);
    expect(store.health().outbox?.waiting).toBe(0);
  });

  it('a hung server (frozen, connections accepted, nothing answered): timeouts make it unavailable, events kept; thawed, all written', async () => {
    const url = await freshUrl();
    const store = await storeOn(url, outboxDir(), { connectTimeoutMs: 500, queryTimeoutMs: 500 });
    await store.recordEvents([event('hung', at(1))]);
    cluster.pause();
    try {
      // The pooled connection's statement times out; then calls fail at once.
      await store.recordEvents([event('hung', at(2))]);
      expect(store.health()).toMatchObject({ available: false, outbox: { waiting: 1 } });
      await expect(store.getMessage(Buffer.from('0123456789abcdef', 'hex'))).rejects.toMatchObject({ code: 'ESTORE_UNAVAILABLE' });
      await store.recordEvents([event('hung', at(3))]);
    } finally {
      cluster.resume();
    }
    await until(() => store.health().outbox?.waiting === 0);
    expect(store.health().available).toBe(true);
    expect((await collect(store.eventsBySendId('hung'))).map((e) => e.time)).toEqual([at(1), at(2), at(3)]);
  });

  it('what waits survives a restart of trackmilter, and is written by the next start', async () => {
    const url = await freshUrl();
    const dir = outboxDir();
    const first = await storeOn(url, dir);
    await cluster.stopServer();
    await Promise.all([1, 2, 3].map((i) => first.recordEvents([event('s2', at(i))])));
    await first.close();
    open.splice(open.indexOf(first), 1);
    await cluster.start();
    const second = await storeOn(url, dir);
    await until(() => second.health().outbox?.waiting === 0);
    expect((await collect(second.eventsBySendId('s2'))).map((e) => e.time)).toEqual([at(1), at(2), at(3)]);
  });

  it('opened while the server is down (startUnavailable): unavailable, events kept; migrated and written once it is up', async () => {
    const url = await freshUrl();
    await cluster.stopServer();
    const store = await storeOn(url, outboxDir(), { startUnavailable: true });
    expect(store.health()).toMatchObject({ available: false, errors: { ESTORE_UNAVAILABLE: 1 } });
    await expect(store.getMessage(Buffer.from('0123456789abcdef', 'hex'))).rejects.toMatchObject({ code: 'ESTORE_UNAVAILABLE' });
    await store.recordEvents([event('s6', at(1))]);
    await store.recordEvents([event('s6', at(2))]);
    await cluster.start();
    await store.whenAvailable();
    await until(() => store.health().outbox?.waiting === 0);
    expect((await collect(store.eventsBySendId('s6'))).map((e) => e.time)).toEqual([at(1), at(2)]);
  });

  it('without startUnavailable, opening while the server is down fails with ESTORE_UNAVAILABLE', async () => {
    const url = await freshUrl();
    await cluster.stopServer();
    const store = new PgTrackStore({ url, connectTimeoutMs: 1000, outbox: { dir: outboxDir() } });
    await expect(store.open()).rejects.toMatchObject({ code: 'ESTORE_UNAVAILABLE' });
  });

  it('a record PostgreSQL refuses is set aside, logged and counted; the rest are written', async () => {
    const url = await freshUrl();
    const { logger, lines } = capturingLogger();
    const store = await storeOn(url, outboxDir(), { logger });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`ALTER TABLE trackmilter_events ADD CONSTRAINT no_evil CHECK (user_agent <> 'evil')`);
    await client.end();
    await cluster.stopServer();
    await store.recordEvents([event('s3', at(1))]);
    await store.recordEvents([event('s3', at(2), { userAgent: 'evil' })]);
    await store.recordEvents([event('s3', at(3))]);
    await cluster.start();
    await until(() => store.health().outbox?.waiting === 0);
    expect(store.health().outbox).toMatchObject({ written: 2, rejected: 1, setAside: 1 });
    expect((await collect(store.eventsBySendId('s3'))).map((e) => e.time)).toEqual([at(1), at(3)]);
    expect(lines.find((l) => l.code === 'ESTORE_OUTBOX_REJECTED')).toMatchObject({ level: 'error', cause: 'ESTORE_INVALID', sendId: 's3' });
  });

  it('at its size limit the outbox refuses with ESTORE_OUTBOX_FULL, logged once; it accepts again once written', async () => {
    const url = await freshUrl();
    const { logger, lines } = capturingLogger();
    const store = await storeOn(url, outboxDir(), { logger }, { maxEvents: 2 });
    await cluster.stopServer();
    await store.recordEvents([event('s4', at(1))]);
    await store.recordEvents([event('s4', at(2))]);
    await expect(store.recordEvents([event('s4', at(3))])).rejects.toMatchObject({ code: 'ESTORE_OUTBOX_FULL' });
    await expect(store.recordEvents([event('s4', at(4))])).rejects.toMatchObject({ code: 'ESTORE_OUTBOX_FULL' });
    expect(lines.filter((l) => l.code === 'ESTORE_OUTBOX_FULL')).toHaveLength(1);
    expect(store.health().outbox).toMatchObject({ waiting: 2, refused: 2 });
    expect(store.health().outbox?.full).toBe(true);
    await cluster.start();
    await until(() => store.health().outbox?.waiting === 0);
    await store.recordEvents([event('s4', at(5))]);
    expect((await collect(store.eventsBySendId('s4'))).map((e) => e.time)).toEqual([at(1), at(2), at(5)]);
  });

  it('past its age limit the outbox refuses new events until the old ones are written', async () => {
    const url = await freshUrl();
    const store = await storeOn(url, outboxDir(), {}, { maxAgeMs: 50 });
    await cluster.stopServer();
    await store.recordEvents([event('s5', at(1))]);
    await sleep(100);
    await expect(store.recordEvents([event('s5', at(2))])).rejects.toMatchObject({ code: 'ESTORE_OUTBOX_FULL' });
    await cluster.start();
    await until(() => store.health().outbox?.waiting === 0);
    await store.recordEvents([event('s5', at(3))]);
    expect((await collect(store.eventsBySendId('s5'))).map((e) => e.time)).toEqual([at(1), at(3)]);
  });
});
