/**
 * The PostgreSQL store on a real private cluster (../../helpers/postgres.ts): the shared contract
 * (../contract.ts), then what only PostgreSQL has: its schema versions, two processes' stores on one
 * database, the fleet-wide sweep lock, GreenArrow's tables, and failures in the store's codes.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../src/store/postgres/pg-pool.js';
import { PgTrackStore, type PgStoreOptions } from '../../../src/store/postgres/pg-store.js';
import { SCHEMA_VERSION } from '../../../src/store/postgres/migrations.js';
import { findFreePort } from '../../helpers/net.js';
import { postgresBinaries, startPostgres, type PostgresCluster } from '../../helpers/postgres.js';
import { capturingLogger, until } from '../../helpers/log-capture.js';
import { storeContract } from '../contract.js';
import { collect, event, message, urlRow } from '../fixtures-core.js';

const binaries = postgresBinaries();
if ('missing' in binaries) console.warn(binaries.missing);

describe.skipIf('missing' in binaries)('PostgreSQL store', () => {
  let cluster: PostgresCluster;
  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  const open: PgTrackStore[] = [];
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
  });
  async function storeOn(url: string, options: PgStoreOptions = {}): Promise<PgTrackStore> {
    const store = new PgTrackStore({ url, ...options });
    await store.open();
    open.push(store);
    return store;
  }
  async function sql<R extends object>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  }
  const freshUrl = async (): Promise<string> => cluster.url(await cluster.createDatabase());
  const at = (seconds: number): Date => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));

  describe('TrackStore contract on PostgreSQL', () => {
    storeContract(() => ({
      newPlace: freshUrl,
      create: (url, options) => new PgTrackStore({ url, ...options }),
      cachesWrites: false,
    }));
  });

  describe('schema', () => {
    it('applies its migrations once, and two stores opening together both start', async () => {
      const url = await freshUrl();
      await Promise.all([storeOn(url), storeOn(url), storeOn(url)]);
      const versions = await sql<{ version: number }>(url, 'SELECT version FROM trackmilter_schema ORDER BY version');
      expect(versions.map((v) => v.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    });

    it('refuses a database whose schema is newer than this trackmilter knows, with ESTORE_VERSION', async () => {
      const url = await freshUrl();
      const first = await storeOn(url);
      await first.close();
      await sql(url, 'INSERT INTO trackmilter_schema (version) VALUES ($1)', [SCHEMA_VERSION + 1]);
      const store = new PgTrackStore({ url });
      await expect(store.open()).rejects.toMatchObject({ code: 'ESTORE_VERSION' });
      await expect(store.recordMessage(message(1), [])).rejects.toMatchObject({ code: 'ESTORE_CLOSED' });
    });
  });

  describe('failures', () => {
    it('an unreachable server is ESTORE_UNAVAILABLE at open, naming where, never the password', async () => {
      const port = await findFreePort();
      const store = new PgTrackStore({ url: `postgres://someone:s3cret@127.0.0.1:${port}/trackmilter`, connectTimeoutMs: 2000 });
      const err: unknown = await store.open().catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ESTORE_UNAVAILABLE' });
      expect((err as Error).message).toContain(`127.0.0.1:${port}/trackmilter`);
      expect((err as Error).message).not.toContain('s3cret');
    });

    it('a connection in use dropped between two statements is reported, not fatal; its next query fails and the pool goes on', async () => {
      const url = await freshUrl();
      const idle: Error[] = [];
      const inUse: Error[] = [];
      const pool = createPool({ connectionString: url, max: 2 }, { idle: (err) => idle.push(err), inUse: (err) => inUse.push(err) });
      try {
        // Checked out and between statements, as a write's transaction is: pg-pool itself listens on
        // idle connections only, so without our listener this 'error' would end the process.
        const client = await pool.connect();
        const { pid } = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!;
        await sql(url, 'SELECT pg_terminate_backend($1)', [pid]);
        await until(() => inUse.length > 0);
        expect(inUse[0]).toMatchObject({ code: '57P01' });
        await expect(client.query('SELECT 1')).rejects.toThrow();
        client.release(true);
        expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
        expect(idle).toEqual([]);
      } finally {
        await pool.end();
      }
    });

    it('a restart: idle connections dropped are logged, calls fail with ESTORE_UNAVAILABLE, then it reconnects by itself', async () => {
      const url = await freshUrl();
      const { logger, lines } = capturingLogger();
      const store = await storeOn(url, { connectTimeoutMs: 2000, retryMs: 100, logger });
      // Several connections in the pool, idle when the server goes: each gets an 'error' event.
      await Promise.all([1, 2, 3].map((i) => store.getMessage(message(i).id)));
      await store.recordEvents([event('down', at(1))]);
      await cluster.stopServer();
      try {
        await expect(store.recordEvents([event('down', at(2))])).rejects.toMatchObject({ code: 'ESTORE_UNAVAILABLE' });
        await expect(store.getMessage(message(9).id)).rejects.toMatchObject({ code: 'ESTORE_UNAVAILABLE' });
        expect(store.health()).toMatchObject({ available: false, downSince: expect.any(Number) as unknown });
        expect(store.health().errors.ESTORE_UNAVAILABLE).toBeGreaterThanOrEqual(2);
        await until(() => lines.some((l) => l.msg === 'PostgreSQL dropped an idle connection'));
        expect(lines.find((l) => l.msg === 'PostgreSQL unavailable; retrying')).toMatchObject({ level: 'error', code: 'ESTORE_UNAVAILABLE' });
      } finally {
        await cluster.start();
      }
      await store.whenAvailable();
      expect(store.health().available).toBe(true);
      expect(lines.some((l) => l.msg === 'PostgreSQL available again')).toBe(true);
      await store.recordEvents([event('down', at(3))]);
      expect((await collect(store.eventsBySendId('down'))).map((e) => e.time)).toEqual([at(1), at(3)]);
    });

    it('a slow database: a statement not answered within the query timeout fails with ESTORE_UNAVAILABLE', async () => {
      const url = await freshUrl();
      const store = await storeOn(url, { queryTimeoutMs: 300, retryMs: 100 });
      const first = urlRow('slow', 'https://shop.example/one');
      const second = urlRow('slow', 'https://shop.example/two');
      await store.recordMessage(message(1), [first]);
      // Another session holds the table: reads and writes of it wait for the lock.
      const locker = new pg.Client({ connectionString: url });
      await locker.connect();
      try {
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE trackmilter_url_rows, trackmilter_messages IN ACCESS EXCLUSIVE MODE');
        await expect(store.getUrlRow(second.id)).rejects.toMatchObject({ code: 'ESTORE_UNAVAILABLE' });
        // The probe still answers (SELECT 1 needs no lock): it is back at once, and the write times out in its turn.
        await store.whenAvailable();
        await expect(store.recordMessage(message(2), [second])).rejects.toMatchObject({ code: 'ESTORE_UNAVAILABLE' });
        await locker.query('ROLLBACK');
      } finally {
        await locker.end();
      }
      await store.whenAvailable();
      await store.recordMessage(message(2), [second]);
      expect(await store.getUrlRow(second.id)).toMatchObject({ url: second.url });
    });

    it('refuses text PostgreSQL cannot hold (a NUL) with ESTORE_INVALID, failing only that call', async () => {
      const store = await storeOn(await freshUrl());
      const good = store.recordEvents([event('s1', at(1))]);
      const bad = store.recordEvents([event('s1', at(2), { userAgent: 'a\u0000b' })]);
      await expect(bad).rejects.toMatchObject({ code: 'ESTORE_INVALID' });
      await expect(good).resolves.toBeUndefined();
      expect(await collect(store.eventsBySendId('s1'))).toHaveLength(1);
    });
  });

  describe("GreenArrow's tables", () => {
    it("runs the README's query: the opens of SendID a100525, joined on urlid", async () => {
      const url = await freshUrl();
      const store = await storeOn(url);
      const openRow = urlRow('a100525', '');
      const saleRow = urlRow('a100525', 'https://shop.example/sale?sub=1', 'sale');
      await store.recordMessage(message(1, 'a100525'), [openRow, saleRow]);
      await store.recordMessage(message(2, 'b7'), [urlRow('b7', '')]);
      const open1 = event('a100525', at(10), { type: 'open', url: '', linkName: '', position: 0, recipient: 'ann@example.com', emailCode: '42' });
      const open2 = event('a100525', at(20), {
        type: 'open',
        url: '',
        linkName: '',
        position: 0,
        recipient: 'bob@example.com',
        emailCode: 'x-7',
        part: '', // as the redirector records an open: the view still says h (the pixel is only in HTML)
        machine: true,
        machineReason: 'apple-mpp',
        userAgent: 'Mozilla/5.0 (MPP)',
        ip: '17.58.0.1',
      });
      const click = event('a100525', at(30), { url: 'https://shop.example/sale?sub=1', part: 't', position: 3 });
      const otherOpen = event('b7', at(40), { type: 'open', url: '', linkName: '', position: 0 });
      const bounce = event('a100525', at(50), { type: 'bounce', url: '', linkName: '', position: 0, part: '' });
      await store.recordEvents([open1, open2, click, otherOpen, bounce]);

      const opens = await sql<Record<string, unknown>>(
        url,
        `SELECT * FROM clickthrough_clicks WHERE urlid = (SELECT id FROM clickthrough_urls WHERE sendid = 'a100525' AND url = '') ORDER BY clicktime`,
      );
      expect(opens).toHaveLength(2);
      expect(opens[0]).toMatchObject({
        clicktime: at(10).getTime() / 1000,
        emailaddress: 'ann@example.com',
        html_or_text: 'h',
        email_code: 42,
        email_code_text: '42',
        machine: false,
      });
      expect(opens[1]).toMatchObject({
        clicktime: at(20).getTime() / 1000,
        emailaddress: 'bob@example.com',
        html_or_text: 'h',
        email_code: null,
        email_code_text: 'x-7',
        machine: true,
        machine_reason: 'apple-mpp',
        user_agent: 'Mozilla/5.0 (MPP)',
        ip: '17.58.0.1',
      });

      const urls = await sql<{ id: string; sendid: string; listid: string; url: string; link_name: string }>(
        url,
        `SELECT id, sendid, listid, url, link_name FROM clickthrough_urls WHERE sendid = 'a100525' ORDER BY url`,
      );
      expect(urls.map((u) => [u.sendid, u.listid, u.url, u.link_name])).toEqual([
        ['a100525', 'list1', '', ''],
        ['a100525', 'list1', 'https://shop.example/sale', 'sale'],
      ]);
      // A click counts against its row (the URL cut at '?'), with its part and position beside it.
      const clicks = await sql<{ html_or_text: string; position: number; link_name: string }>(
        url,
        `SELECT c.html_or_text, c.position, c.link_name FROM clickthrough_clicks c JOIN clickthrough_urls u ON u.id = c.urlid
          WHERE u.sendid = 'a100525' AND u.url = 'https://shop.example/sale'`,
      );
      expect(clicks).toEqual([{ html_or_text: 't', position: 3, link_name: 'sale' }]);
      // Bounces are not clicks.
      expect(await sql(url, `SELECT 1 FROM clickthrough_clicks WHERE emailaddress = 'someone@example.com' AND sendid = 'a100525' AND type = 'bounce'`)).toEqual(
        [],
      );
    });
  });

  describe('a fleet on one database', () => {
    it('a URL row and message written by one store resolve through another; events of both count together', async () => {
      const url = await freshUrl();
      const hostA = await storeOn(url);
      const hostB = await storeOn(url);
      const row = urlRow('a100525', 'https://shop.example/sale?x=1', 'sale');
      await hostA.recordMessage(message(1, 'a100525'), [row]);
      expect(await hostB.getUrlRow(row.id)).toMatchObject({ url: 'https://shop.example/sale', linkName: 'sale' });
      expect(await hostB.getMessage(message(1).id)).toMatchObject({ sendId: 'a100525' });
      await hostA.recordEvents([event('a100525', at(1))]);
      await hostB.recordEvents([event('a100525', at(2))]);
      expect(await collect(hostA.eventsBySendId('a100525'))).toHaveLength(2);
      expect(await collect(hostB.eventsBySendId('a100525'))).toHaveLength(2);
    });

    it('a suppression added on one host is seen at once by the other (not cached)', async () => {
      const url = await freshUrl();
      const hostA = await storeOn(url);
      const hostB = await storeOn(url);
      expect(await hostB.suppressedAmong('news', ['ann@example.com'])).toEqual(new Set());
      await hostA.recordEvents([event('s', at(1), { type: 'unsubscribe', listId: 'news', recipient: 'ann@example.com', details: { source: 'one-click' } })]);
      expect(await hostB.suppressedAmong('news', ['ann@example.com'])).toEqual(new Set(['ann@example.com']));
    });

    it('one sweep at a time: a host finding the fleet sweep lock taken sweeps nothing', async () => {
      const url = await freshUrl();
      const store = await storeOn(url);
      await store.recordEvents([event('s', at(1))]);
      const holder = new pg.Client({ connectionString: url });
      await holder.connect();
      try {
        await holder.query('SELECT pg_advisory_lock($1, $2)', [0x74726b6d, 2]);
        expect(await store.sweep(at(10))).toEqual({ events: 0, urlRows: 0, messages: 0 });
        await holder.query('SELECT pg_advisory_unlock($1, $2)', [0x74726b6d, 2]);
        expect(await store.sweep(at(10))).toEqual({ events: 1, urlRows: 0, messages: 0 });
      } finally {
        await holder.end();
      }
    });

    it('concurrent writes from many callers are grouped into few transactions', async () => {
      const store = await storeOn(await freshUrl());
      await Promise.all(Array.from({ length: 200 }, (_, i) => store.recordMessage(message(i, 'g'), [urlRow('g', `https://x.example/${i % 10}`)])));
      expect(await store.countMessages('g')).toBe(200);
      expect(store.stats().batches).toBeLessThan(200);
      expect(store.stats().largestGroup).toBeGreaterThan(1);
      expect(await collect(store.urlRowsBySendId('g'))).toHaveLength(10);
    });
  });
});
