// The daemon's admin endpoints, on the HTTP listener under /admin/, for the commands that must go
// through the one process holding the LevelDB lock: report, events, bounce.
//   GET  /admin/report?sendid=X                                  -> SendReport JSON
//   GET  /admin/events?sendid=X[&since=ISO][&until=ISO][&format=json|csv] -> JSON lines or CSV
//   GET  /admin/suppressions[?list=ID]                            -> JSON lines (../unsubscribe/admin.ts)
//   POST /admin/<name> for handlers registered by others (e.g. bounce intake, suppressions/add,
//        dashboard login codes)
// Every request carries `Authorization: Bearer <data dir's admin.token>`, except the dashboard's
// pages (./dashboard.ts), which need its session cookie instead.
import { timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import type { TrackStore } from '../store/index.js';
import type { Logger } from '../util/log.js';
import { errorCode, errorMessage } from '../util/errors.js';
import { sendReport } from '../reports/send-report.js';
import { CSV_HEADER, eventCsvLine, eventJsonLine } from '../reports/event-format.js';
import { suppressionJsonLine } from '../unsubscribe/admin.js';
import type { Dashboard } from './dashboard.js';

export type PostHandler = (body: Buffer) => Promise<{ status: number; json: unknown }>;

interface AdminApiOptions {
  token: string;
  store: TrackStore;
  logger: Logger;
  /** POST /admin/<name> handlers. */
  post?: Record<string, PostHandler>;
  /** Largest POST body accepted (a bounce with its returned message). */
  maxBodyBytes?: number;
  /** The pages for people, authenticated by their own session cookie. */
  dashboard?: Dashboard;
}

export function createAdminApi(o: AdminApiOptions): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const expected = Buffer.from(`Bearer ${o.token}`);
  const maxBody = o.maxBodyBytes ?? 25 * 1024 * 1024;
  const authorized = (req: http.IncomingMessage): boolean => {
    const given = Buffer.from(req.headers.authorization ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    if (o.dashboard?.handles(url.pathname)) {
      o.dashboard.serve(req, res, url).catch((err: unknown) => {
        o.logger.error({ code: errorCode(err), err: errorMessage(err), path: url.pathname }, 'dashboard request failed');
        if (!res.headersSent) sendJson(res, 503, { error: errorMessage(err), code: errorCode(err) });
        else res.destroy();
      });
      return;
    }
    if (!authorized(req)) return sendJson(res, 401, { error: 'missing or wrong admin token' });
    const name = url.pathname.slice('/admin/'.length);
    const run = async (): Promise<void> => {
      if (req.method === 'GET' && name === 'report') return report(url, res);
      if (req.method === 'GET' && name === 'events') return events(url, res);
      if (req.method === 'GET' && name === 'suppressions') return suppressions(url, res);
      const handler = o.post?.[name];
      if (req.method === 'POST' && handler) {
        const body = await readBody(req, maxBody);
        if (!body) return sendJson(res, 413, { error: `body over ${maxBody} bytes` });
        const { status, json } = await handler(body);
        return sendJson(res, status, json);
      }
      sendJson(res, 404, { error: `no admin endpoint ${req.method} /admin/${name}` });
    };
    run().catch((err: unknown) => {
      o.logger.error({ code: errorCode(err), err: errorMessage(err), path: url.pathname }, 'admin request failed');
      if (!res.headersSent) sendJson(res, 503, { error: errorMessage(err), code: errorCode(err) });
      else res.destroy();
    });
  };

  async function report(url: URL, res: http.ServerResponse): Promise<void> {
    const sendId = url.searchParams.get('sendid');
    if (sendId === null) return sendJson(res, 400, { error: 'sendid is required' });
    sendJson(res, 200, await sendReport(o.store, sendId));
  }

  async function events(url: URL, res: http.ServerResponse): Promise<void> {
    const sendId = url.searchParams.get('sendid');
    if (sendId === null) return sendJson(res, 400, { error: 'sendid is required' });
    const since = dateParam(url, 'since');
    const until = dateParam(url, 'until');
    if (since === null || until === null) return sendJson(res, 400, { error: 'since and until take ISO 8601 times' });
    const format = url.searchParams.get('format') ?? 'json';
    if (format !== 'json' && format !== 'csv') return sendJson(res, 400, { error: 'format is json or csv' });
    res.writeHead(200, { 'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson', 'Cache-Control': 'no-store' });
    if (format === 'csv') res.write(CSV_HEADER);
    const line = format === 'csv' ? eventCsvLine : eventJsonLine;
    for await (const e of o.store.eventsBySendId(sendId, { ...(since ? { since } : {}), ...(until ? { until } : {}) })) {
      if (!res.write(line(e))) await new Promise((resolve) => res.once('drain', resolve));
    }
    res.end();
  }

  async function suppressions(url: URL, res: http.ServerResponse): Promise<void> {
    const list = url.searchParams.get('list');
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' });
    for await (const s of o.store.suppressions(list === null || list === '' ? undefined : list)) {
      if (!res.write(suppressionJsonLine(s))) await new Promise((resolve) => res.once('drain', resolve));
    }
    res.end();
  }
}

/** undefined when absent, null when present but not a time. */
function dateParam(url: URL, name: string): Date | undefined | null {
  const text = url.searchParams.get(name);
  if (text === null) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * The body, or null when it is over the limit. An oversized body is read to its end and dropped, not
 * cut off: a client still sending when the connection closes never sees the 413.
 */
function readBody(req: http.IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
      else chunks.length = 0;
    });
    req.on('end', () => resolve(size > max ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
