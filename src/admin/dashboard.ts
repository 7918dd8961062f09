// The dashboard under /admin/: pages for people, behind a session cookie got from a one-time login
// code (./sessions.ts). Every page, asset and frame needs the cookie (401 without it); the admin API
// beside it (./admin-api.ts) keeps its bearer token. Scripts, styles and fonts all come from files
// shipped in the package (dist/dashboard/), under a CSP that allows nothing from another origin.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrackStore } from '../store/index.js';
import { sendReport } from '../reports/send-report.js';
import { sendSeries } from '../reports/send-series.js';
import { renderClickMap } from '../reports/click-map.js';
import type { Logger } from '../util/log.js';
import { type AdminSessions, sessionCookie, sessionFromCookie } from './sessions.js';
import { ASSETS, clickMapPage, messagePage, sendPage, sendsPage } from './dashboard-pages.js';

const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/** The click map's frame: the sender's own inline styles may apply; nothing runs, nothing loads. */
const FRAME_CSP =
  "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";
const PAGE_SIZE = 50;
const ASSET_TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.woff2': 'font/woff2' };

/** Where the built assets are: dist/dashboard beside dist/admin, or dist/dashboard from src/admin (tests). */
export function defaultAssetsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, '..', 'dashboard');
  return existsSync(path.join(beside, 'dashboard.js')) ? beside : path.join(here, '..', '..', 'dist', 'dashboard');
}

interface DashboardOptions {
  store: TrackStore;
  sessions: AdminSessions;
  /** Set the cookie's Secure flag (the listener speaks HTTPS). */
  secure: boolean;
  /** Logins and refused login codes are logged (never the code or the session). */
  logger?: Logger;
  assetsDir?: string;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => Promise<void>;

export interface Dashboard {
  /** True for the paths the dashboard serves (the rest of /admin/ is the bearer API). */
  handles(pathname: string): boolean;
  serve: Handler;
}

export function createDashboard(o: DashboardOptions): Dashboard {
  const assetsDir = o.assetsDir ?? defaultAssetsDir();
  const assetCache = new Map<string, Buffer>();
  const pages: Record<string, Handler> = {
    '/admin/': sends,
    '/admin/send': send,
    '/admin/clickmap': clickMap,
    '/admin/clickmap-frame': clickMapFrame,
  };
  return {
    handles: (pathname) => pathname === '/admin/login' || pathname === '/admin/logout' || pathname in pages || pathname.startsWith(ASSETS),
    async serve(req, res, url) {
      const reading = req.method === 'GET' || req.method === 'HEAD';
      if (url.pathname === '/admin/login' && reading) return login(req, res, url);
      // The session first, whatever the method: without it, everything here is 401.
      const session = sessionFromCookie(req.headers.cookie);
      if (!o.sessions.check(session)) {
        return html(
          res,
          401,
          messagePage(401, 'Not logged in', 'Run `trackmilter dashboard` on the server and open the URL it prints (it works once, for a few minutes).'),
        );
      }
      if (!reading) return html(res, 405, messagePage(405, 'Method not allowed', 'The dashboard is read with GET.'));
      if (url.pathname === '/admin/logout') {
        o.sessions.end(session);
        res.writeHead(303, { Location: '/admin/login', 'Set-Cookie': `${sessionCookie('', o.secure)}; Max-Age=0`, 'Cache-Control': 'no-store' });
        return void res.end();
      }
      if (url.pathname.startsWith(ASSETS)) return asset(res, url.pathname.slice(ASSETS.length));
      return pages[url.pathname]!(req, res, url);
    },
  };

  function login(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    const session = o.sessions.redeem(url.searchParams.get('code') ?? '');
    o.logger?.info({ ok: session !== null, client: req.socket.remoteAddress }, session ? 'dashboard login' : 'dashboard login refused');
    if (!session)
      return html(
        res,
        401,
        messagePage(401, 'Login link not valid', 'It was used already, has expired, or was mistyped. Run `trackmilter dashboard` again for a new one.'),
      );
    // 303 to a URL without the code, so the code is not what stays in the address bar.
    res.writeHead(303, { Location: '/admin/', 'Set-Cookie': sessionCookie(session, o.secure), 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' });
    res.end();
  }

  async function sends(_req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const query = (url.searchParams.get('q') ?? '').trim();
    const all = (await o.store.aggregates.allTotals())
      .filter((t) => query === '' || t.sendId.toLowerCase().includes(query.toLowerCase()))
      .sort((a, b) => b.firstMs - a.firstMs || (a.sendId < b.sendId ? -1 : 1));
    const pages = Math.ceil(all.length / PAGE_SIZE);
    const pageNo = Math.min(Math.max(1, Number.parseInt(url.searchParams.get('page') ?? '1', 10) || 1), Math.max(pages, 1));
    html(res, 200, sendsPage({ sends: all.slice((pageNo - 1) * PAGE_SIZE, pageNo * PAGE_SIZE), query, page: pageNo, pages, total: all.length }));
  }

  async function send(_req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const sendId = url.searchParams.get('id');
    if (sendId === null) return html(res, 400, messagePage(400, 'No send named', 'The page needs ?id=SENDID.'));
    const agg = o.store.aggregates;
    const [report, totals, positions, hasClickMap] = await Promise.all([
      sendReport(o.store, sendId),
      agg.totals(sendId),
      agg.positions(sendId),
      agg.hasHtml(sendId),
    ]);
    const series = await sendSeries(totals, (g, from, to) => agg.buckets(sendId, g, from, to));
    html(res, 200, sendPage({ report, totals, series, positions, hasClickMap }));
  }

  async function clickMapData(sendId: string) {
    const agg = o.store.aggregates;
    const [kept, positions, totals] = await Promise.all([agg.html(sendId), agg.positions(sendId), agg.totals(sendId)]);
    if (kept === undefined) return null;
    const humanClicks = totals?.human.clicks ?? 0;
    return { ...renderClickMap(kept, positions, humanClicks), humanClicks };
  }

  async function clickMap(_req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const sendId = url.searchParams.get('id') ?? '';
    const map = await clickMapData(sendId);
    if (!map)
      return html(
        res,
        404,
        messagePage(404, 'No click map', 'No HTML was kept for this send (dashboard.click_map = "off", or its messages had no HTML part).'),
      );
    html(res, 200, clickMapPage(sendId, map.links, map.humanClicks));
  }

  async function clickMapFrame(_req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const map = await clickMapData(url.searchParams.get('id') ?? '');
    if (!map) return html(res, 404, messagePage(404, 'No click map', 'No HTML was kept for this send.'));
    html(res, 200, map.html, FRAME_CSP, 'SAMEORIGIN');
  }

  async function asset(res: http.ServerResponse, name: string): Promise<void> {
    const type = ASSET_TYPES[path.extname(name)];
    // Only plain file names of known types: nothing outside the assets directory can be named.
    if (!type || !/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) return html(res, 404, messagePage(404, 'Not found', 'No such file.'));
    let body = assetCache.get(name);
    if (!body) {
      body = await readFile(path.join(assetsDir, name)).catch(() => undefined);
      if (!body) return html(res, 404, messagePage(404, 'Not found', 'No such file.'));
      assetCache.set(name, body);
    }
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length, 'Cache-Control': 'private, max-age=300', 'X-Content-Type-Options': 'nosniff' });
    res.end(body);
  }
}

function html(res: http.ServerResponse, status: number, body: string, csp = PAGE_CSP, frameOptions = 'DENY'): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': bytes.length,
    'Content-Security-Policy': csp,
    'X-Frame-Options': frameOptions,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
  });
  res.end(bytes);
}
