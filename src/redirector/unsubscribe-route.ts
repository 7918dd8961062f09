/**
 * `/u/TOKEN`, the one-click unsubscribe URL of List-Unsubscribe (RFC 8058), served by node:http:
 *
 *   GET, HEAD   the confirmation page (list, address partly masked, one button that POSTs); records
 *               nothing, because mail security gateways fetch every URL in a message
 *   POST        with List-Unsubscribe=One-Click: records one unsubscribe (durably, before the 200);
 *               a repeat is a 200 that records nothing
 *
 * A token that does not verify, has expired or names no one is a 404 and records nothing. The answer
 * needs no cookie and no script; nothing from the request is echoed but what the token says, escaped.
 */
import type http from 'node:http';
import { errorCode, errorMessage } from '../util/errors.js';
import { isTokenText } from '../tokens/token-text.js';
import type { UnsubscribeFacts, UnsubscribeService, UnsubscribeTarget } from '../unsubscribe/service.js';
import {
  BAD_REQUEST_PAGE,
  TRY_LATER_PAGE,
  ONE_CLICK_FIELD,
  ONE_CLICK_VALUE,
  PAGE_FIELD,
  renderConfirmPage,
  renderDonePage,
  type PageTemplates,
} from '../unsubscribe/page.js';
import { NOT_FOUND } from './responses.js';
import type { ThrottledLog } from './throttled-log.js';

export const UNSUBSCRIBE_PREFIX = '/u/';

/** A one-click body is 26 bytes; a multipart one a few hundred. More is not an unsubscribe request. */
const MAX_UNSUBSCRIBE_BODY_BYTES = 8192;

type UnsubscribeRouteOutcome = 'page' | 'page-already' | 'recorded' | 'already' | 'bad-token' | 'not-one-click' | 'body-too-large' | 'method' | 'failed';

interface UnsubscribeRouteOptions {
  service: UnsubscribeService;
  templates: PageTemplates;
  /** The client address (trusted proxies applied, truncated if so configured), user agent and verdict. */
  facts: (req: http.IncomingMessage) => UnsubscribeFacts;
  log: ThrottledLog;
  /** Told every answer (metrics). */
  onAnswer?: (outcome: UnsubscribeRouteOutcome, status: number) => void;
  /** Retry-After (seconds) of the 503 when the unsubscribe cannot be looked up or recorded now. Default 60. */
  retryAfterSeconds?: number;
}

const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  // The page needs its inline style and a form posting to itself; nothing else, from anywhere.
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
} as const;

/** The token of a `/u/TOKEN[?query]` target, or null. */
export function unsubscribeToken(target: string): string | null {
  if (!target.startsWith(UNSUBSCRIBE_PREFIX)) return null;
  const q = target.indexOf('?');
  const token = target.slice(UNSUBSCRIBE_PREFIX.length, q === -1 ? undefined : q);
  return token.length > 0 && isTokenText(token) ? token : null;
}

/**
 * Whether a POST body asks to unsubscribe: `List-Unsubscribe=One-Click` as a form field, urlencoded
 * (what mailbox providers send) or in multipart/form-data (RFC 8058's example). Also says whether the
 * confirmation page's button sent it.
 */
export function readOneClickBody(body: Buffer, contentType: string | undefined): { oneClick: boolean; fromPage: boolean } {
  const type = (contentType ?? '').toLowerCase();
  if (type.startsWith('multipart/form-data')) {
    const text = body.toString('latin1');
    const field = (name: string, value: string): boolean =>
      new RegExp(`name="?${name}"?[^\\r\\n]*\\r?\\n(?:[^\\r\\n]+\\r?\\n)*\\r?\\n[ \\t]*${value}[ \\t]*\\r?\\n`, 'i').test(text);
    return { oneClick: field(ONE_CLICK_FIELD, ONE_CLICK_VALUE), fromPage: field(PAGE_FIELD, 'page') };
  }
  // Trimmed: some senders end the body with a line break.
  const params = new URLSearchParams(body.toString('latin1'));
  return { oneClick: params.getAll(ONE_CLICK_FIELD).some((v) => v.trim() === ONE_CLICK_VALUE), fromPage: params.get(PAGE_FIELD)?.trim() === 'page' };
}

export function createUnsubscribeRoute(o: UnsubscribeRouteOptions): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const answer = (res: http.ServerResponse, outcome: UnsubscribeRouteOutcome, status: number, html: string, extra: Record<string, string> = {}): void => {
    if (!res.headersSent) {
      res.writeHead(status, { ...PAGE_HEADERS, ...extra, 'Content-Length': Buffer.byteLength(html) });
      res.end(html);
    }
    o.onAnswer?.(outcome, status);
  };
  const notFound = (res: http.ServerResponse): void => {
    res.writeHead(NOT_FOUND.status, NOT_FOUND.headers as string[]);
    res.end(NOT_FOUND.body);
    o.onAnswer?.('bad-token', 404);
  };
  const failed = (res: http.ServerResponse, err: unknown): void => {
    o.log.warn('unsubscribe_failed', { code: errorCode(err), err: errorMessage(err) }, 'unsubscribe request failed: 503');
    // Not "done": a one-click sender retries on a 5xx, and a person should not be told a lie.
    answer(res, 'failed', 503, TRY_LATER_PAGE, { 'Retry-After': String(o.retryAfterSeconds ?? 60) });
  };

  async function get(token: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const target = await o.service.resolve(token);
    if (!target) return notFound(res);
    if (await o.service.isUnsubscribed(target)) return answer(res, 'page-already', 200, renderDonePage(target.listId, true));
    const html = renderConfirmPage(o.templates.forClass(target.mailClass), {
      list: target.listId,
      address: target.recipient,
      action: UNSUBSCRIBE_PREFIX + token,
    });
    answer(res, 'page', 200, html);
  }

  async function post(token: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_UNSUBSCRIBE_BODY_BYTES) {
      req.resume();
      return answer(res, 'body-too-large', 413, BAD_REQUEST_PAGE, { Connection: 'close' });
    }
    const body = await readLimited(req, MAX_UNSUBSCRIBE_BODY_BYTES);
    if (body === null) return answer(res, 'body-too-large', 413, BAD_REQUEST_PAGE, { Connection: 'close' });
    const target: UnsubscribeTarget | null = await o.service.resolve(token);
    if (!target) return notFound(res);
    const { oneClick, fromPage } = readOneClickBody(body, req.headers['content-type']);
    if (!oneClick) return answer(res, 'not-one-click', 400, BAD_REQUEST_PAGE);
    const outcome = await o.service.unsubscribe(target, o.facts(req), fromPage ? 'page' : 'one-click');
    answer(res, outcome, 200, renderDonePage(target.listId, outcome === 'already'));
  }

  return (req, res) => {
    const token = unsubscribeToken(req.url ?? '');
    if (token === null) {
      req.resume();
      return notFound(res);
    }
    let work: Promise<void>;
    if (req.method === 'GET' || req.method === 'HEAD') {
      req.resume();
      work = get(token, req, res);
    } else if (req.method === 'POST') {
      work = post(token, req, res);
    } else {
      req.resume();
      res.writeHead(405, { Allow: 'GET, HEAD, POST', 'Cache-Control': 'no-store', 'Content-Length': 0 });
      res.end();
      o.onAnswer?.('method', 405);
      return;
    }
    work.catch((err: unknown) => failed(res, err));
  };
}

/** The body, or null past the limit (the rest is read and dropped, so the client sees the answer). */
function readLimited(req: http.IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        chunks.length = 0;
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
