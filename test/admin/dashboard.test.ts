// The dashboard's door and walls, in-process: every page, asset and frame is 401 without the session
// cookie; a login code works once and only before it expires; the cookie is HttpOnly and SameSite=Strict;
// pages allow nothing from another origin; the click map's frame can neither run nor load anything.
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminApi } from '../../src/admin/admin-api.js';
import { loadOrCreateAdminToken } from '../../src/admin/admin-token.js';
import { createDashboard, defaultAssetsDir } from '../../src/admin/dashboard.js';
import { AdminSessions } from '../../src/admin/sessions.js';
import { LevelTrackStore, type TrackEvent } from '../../src/store/index.js';
import { CLICK_MAP_ORIGIN } from '../../src/tracking/click-map-capture.js';
import { silentLogger } from '../../src/util/log.js';
import { event, message } from '../store/fixtures-core.js';

const PAGES = [
  '/admin/',
  '/admin/?q=s&page=2',
  '/admin/send?id=s1',
  '/admin/clickmap?id=s1',
  '/admin/clickmap-frame?id=s1',
  '/admin/assets/dashboard.js',
  '/admin/assets/dashboard.css',
  '/admin/logout',
];

describe('dashboard', () => {
  let dir: string;
  let store: LevelTrackStore;
  let server: http.Server;
  let base: string;
  let token: string;
  let clock = Date.now();
  const sessions = new AdminSessions({ now: () => clock, codeTtlMs: 60_000 });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tm-dash-'));
    store = new LevelTrackStore(path.join(dir, 'db'));
    await store.open();
    token = await loadOrCreateAdminToken(dir);
    const api = createAdminApi({
      token,
      store,
      logger: silentLogger,
      dashboard: createDashboard({ store, sessions, secure: false }),
      post: { 'login-code': async () => ({ status: 200, json: sessions.issueCode() }) },
    });
    server = http.createServer(api);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const t = new Date('2026-03-01T09:00:00Z');
    await store.recordMessage(message(1, 's1', t), []);
    const click = (position: number, who: string, machine = false): TrackEvent =>
      event('s1', new Date(t.getTime() + 60_000 * position), {
        url: `https://shop.example/p${position}?u=${who}`,
        linkName: '',
        position,
        part: 'h',
        recipient: who,
        machine,
      });
    await store.recordEvents([click(1, 'a'), click(1, 'b'), click(2, 'a'), click(2, 'c', true), click(3, 'a')]);
    const html = `<html><head><title>x</title></head><body><a href="${CLICK_MAP_ORIGIN}/h/1?u=https%3A%2F%2Fshop.example%2Fp1">One</a> <a href="${CLICK_MAP_ORIGIN}/h/2?u=https%3A%2F%2Fshop.example%2Fp2">Two</a> <a href="https://elsewhere.example/">untracked</a><img src="https://tracker.example/x.gif"><meta http-equiv="refresh" content="0;url=https://elsewhere.example/"></body></html>`;
    await store.aggregates.keepHtml('s1', html);
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const get = (p: string, headers: Record<string, string> = {}) => fetch(base + p, { headers, redirect: 'manual' });
  async function login(): Promise<string> {
    const res = await fetch(`${base}/admin/login-code`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    const { code } = (await res.json()) as { code: string };
    const answer = await get(`/admin/login?code=${code}`);
    expect(answer.status).toBe(303);
    return answer.headers.get('set-cookie')!.split(';')[0]!;
  }

  it('every page, asset and frame is 401 without a session cookie, with a made-up one, and with the admin token', async () => {
    for (const p of PAGES) {
      expect((await get(p)).status, p).toBe(401);
      expect((await get(p, { Cookie: 'trackmilter_session=made-up' })).status, p).toBe(401);
      expect((await get(p, { Authorization: `Bearer ${token}` })).status, p).toBe(401);
    }
    for (const p of PAGES) expect((await fetch(base + p, { method: 'POST', body: 'x' })).status, `POST ${p}`).toBe(401);
    // Nor can a login code be had without the admin token.
    expect((await fetch(`${base}/admin/login-code`, { method: 'POST' })).status).toBe(401);
  });

  it('a login code works once, before it expires, and sets an HttpOnly SameSite=Strict cookie without the code in the next URL', async () => {
    const res = await fetch(`${base}/admin/login-code`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    const { code } = (await res.json()) as { code: string };
    expect(code).not.toContain(token);
    const first = await get(`/admin/login?code=${code}`);
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/admin/');
    const cookie = first.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^trackmilter_session=[A-Za-z0-9_-]{40,};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/admin/');
    expect(cookie).not.toContain(token);
    expect((await get(`/admin/login?code=${code}`)).status).toBe(401);
    const { code: late } = (await (await fetch(`${base}/admin/login-code`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } })).json()) as {
      code: string;
    };
    clock += 61_000;
    expect((await get(`/admin/login?code=${late}`)).status).toBe(401);
    expect((await get('/admin/login?code=')).status).toBe(401);
  });

  it('with the cookie: pages under a CSP that names no other origin; assets by name only', async () => {
    const cookie = await login();
    for (const p of ['/admin/', '/admin/send?id=s1', '/admin/clickmap?id=s1']) {
      const res = await get(p, { Cookie: cookie });
      expect(res.status, p).toBe(200);
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toMatch(/https?:|\*|unsafe/);
      const body = await res.text();
      expect(body).not.toMatch(/(src|href)="https?:/);
    }
    const js = await get('/admin/assets/dashboard.js', { Cookie: cookie });
    expect(js.status, `assets built in ${defaultAssetsDir()}? run npm run build`).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    for (const bad of [
      '/admin/assets/../admin-api.js',
      '/admin/assets/%2e%2e%2fadmin.token',
      '/admin/assets/.hidden.js',
      '/admin/assets/nope.js',
      '/admin/assets/x.html',
    ]) {
      // fetch resolves the dots itself: that path is the bearer API's, 401; the others are no file.
      expect([401, 404], bad).toContain((await get(bad, { Cookie: cookie })).status);
    }
  });

  it('the send page shows the report numbers; the click map frame marks links and cannot run or load anything', async () => {
    const cookie = await login();
    const page = await (await get('/admin/send?id=s1', { Cookie: cookie })).text();
    expect(page).toContain('<td data-field="human.clicks">4</td>');
    expect(page).toContain('<td data-field="all.clicks">5</td>');
    expect(page).toContain('<td data-field="human.uniqueClicks">2</td>');
    const frame = await get('/admin/clickmap-frame?id=s1', { Cookie: cookie });
    expect(frame.headers.get('content-security-policy')).toMatch(/^sandbox; default-src 'none'/);
    expect(frame.headers.get('content-security-policy')).not.toMatch(/script-src|https?:/);
    const html = await frame.text();
    expect(html).toContain('data-position="1" data-clicks="2">#1: 2 clicks, 50.0%');
    expect(html).toContain('data-position="2" data-clicks="1">#2: 1 click, 25.0%');
    expect(html).not.toMatch(/\shref\s*=/i);
    expect(html).not.toMatch(/http-equiv/i);
  });

  it('logout ends the session', async () => {
    const cookie = await login();
    expect((await get('/admin/', { Cookie: cookie })).status).toBe(200);
    expect((await get('/admin/logout', { Cookie: cookie })).status).toBe(303);
    expect((await get('/admin/', { Cookie: cookie })).status).toBe(401);
  });
});
