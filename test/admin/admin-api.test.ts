// The admin API's refusals and limits, and the webhook secret checks of the event pipeline.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminApi } from '../../src/admin/admin-api.js';
import { loadOrCreateAdminToken, readAdminToken } from '../../src/admin/admin-token.js';
import { defaultConfig } from '../../src/config/load.js';
import { startEventPipeline } from '../../src/events/pipeline.js';
import { MetricsRegistry } from '../../src/metrics/registry.js';
import { LevelTrackStore } from '../../src/store/index.js';
import { silentLogger } from '../../src/util/log.js';

describe('admin API', () => {
  let dir: string;
  let store: LevelTrackStore;
  let server: http.Server;
  let base: string;
  let token: string;
  const posted: Buffer[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tm-admin-'));
    store = new LevelTrackStore(path.join(dir, 'db'));
    await store.open();
    token = await loadOrCreateAdminToken(dir);
    const api = createAdminApi({
      token,
      store,
      logger: silentLogger,
      maxBodyBytes: 1024,
      post: {
        echo: async (body) => {
          posted.push(body);
          return { status: 200, json: { bytes: body.length } };
        },
        broken: async () => {
          throw Object.assign(new Error('store is full'), { code: 'ESTORE_IO' });
        },
      },
    });
    server = http.createServer(api);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const call = (p: string, init: RequestInit = {}) => fetch(base + p, { ...init, headers: { Authorization: `Bearer ${token}`, ...init.headers } });

  it('refuses missing parameters, bad times and formats with 400, unknown endpoints with 404', async () => {
    expect((await call('/admin/report')).status).toBe(400);
    expect((await call('/admin/events')).status).toBe(400);
    expect((await call('/admin/events?sendid=a&since=yesterday')).status).toBe(400);
    expect((await call('/admin/events?sendid=a&format=xml')).status).toBe(400);
    expect((await call('/admin/nothing')).status).toBe(404);
    expect((await call('/admin/report?sendid=a', { method: 'POST' })).status).toBe(404);
  });

  it('a POST body over the limit is 413 and never reaches its handler', async () => {
    const res = await call('/admin/echo', { method: 'POST', body: Buffer.alloc(4096, 0x61) });
    expect(res.status).toBe(413);
    expect(posted).toEqual([]);
    const ok = await call('/admin/echo', { method: 'POST', body: Buffer.alloc(100, 0x61) });
    expect(await ok.json()).toEqual({ bytes: 100 });
  });

  it('a handler that fails answers 503 with its code, so `trackmilter bounce` exits 75 and Postfix retries', async () => {
    const res = await call('/admin/broken', { method: 'POST', body: 'x' });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: 'ESTORE_IO' });
  });

  it('an empty send has a report of zeros', async () => {
    const res = await call('/admin/report?sendid=none');
    expect(await res.json()).toMatchObject({ sendId: 'none', messages: 0, all: { clicks: 0, opens: 0 } });
  });

  it('the token file is created 0600 once, and a token file others can read is refused', async () => {
    expect(await loadOrCreateAdminToken(dir)).toBe(token);
    const other = await mkdtemp(path.join(os.tmpdir(), 'tm-admin-token-'));
    await writeFile(path.join(other, 'admin.token'), 'secret\n', { mode: 0o644 });
    await expect(readAdminToken(other)).rejects.toMatchObject({ code: 'EADMIN_TOKEN' });
    await rm(other, { recursive: true, force: true });
  });
});

describe('event pipeline configuration', () => {
  let dir: string;
  let store: LevelTrackStore;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tm-pipeline-'));
    store = new LevelTrackStore(path.join(dir, 'db'));
    await store.open();
  });
  afterAll(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const start = (over: Record<string, unknown>) =>
    startEventPipeline(
      { ...defaultConfig(), 'data.dir': dir, 'events.webhook_url': 'http://127.0.0.1:9/hook', ...over },
      store,
      silentLogger,
      new MetricsRegistry(),
    );

  it('a webhook without a secret file, with one others can read, or with a short secret is refused with ECONFIG', async () => {
    await expect(start({})).rejects.toMatchObject({ code: 'ECONFIG', message: expect.stringContaining('webhook_secret_file') });
    const open = path.join(dir, 'open.secret');
    await writeFile(open, 'a-long-enough-secret-value\n', { mode: 0o644 });
    await expect(start({ 'events.webhook_secret_file': open })).rejects.toMatchObject({
      code: 'ECONFIG',
      message: expect.stringContaining('readable by others'),
    });
    const short = path.join(dir, 'short.secret');
    await writeFile(short, 'short\n', { mode: 0o600 });
    await expect(start({ 'events.webhook_secret_file': short })).rejects.toMatchObject({ code: 'ECONFIG', message: expect.stringContaining('fewer than 16') });
  });
});
