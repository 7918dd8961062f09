// Who may see the dashboard: a one-time login code, asked for with the admin token (`trackmilter
// dashboard`), is exchanged once for a session cookie. The admin token itself never goes into a URL,
// and the code in the printed URL is worthless once used or after a few minutes.
import { randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'trackmilter_session';

interface SessionOptions {
  /** How long a login code stays usable. Default 5 minutes. */
  codeTtlMs?: number;
  /** How long a session lasts after its last request. Default 12 hours. */
  sessionIdleMs?: number;
  /** Most codes and sessions held; the oldest go first. Default 1,000. */
  capacity?: number;
  now?: () => number;
}

export class AdminSessions {
  private readonly codes = new Map<string, number>();
  private readonly sessions = new Map<string, number>();
  private readonly codeTtlMs: number;
  private readonly sessionIdleMs: number;
  private readonly capacity: number;
  private readonly now: () => number;

  constructor(o: SessionOptions = {}) {
    this.codeTtlMs = o.codeTtlMs ?? 5 * 60_000;
    this.sessionIdleMs = o.sessionIdleMs ?? 12 * 3_600_000;
    this.capacity = o.capacity ?? 1000;
    this.now = o.now ?? Date.now;
  }

  /** A fresh one-time login code. */
  issueCode(): { code: string; expiresAt: string } {
    const code = randomBytes(24).toString('base64url');
    const expires = this.now() + this.codeTtlMs;
    remember(this.codes, code, expires, this.capacity);
    return { code, expiresAt: new Date(expires).toISOString() };
  }

  /** A new session id for a valid code, which is used up; null for anything else. */
  redeem(code: string): string | null {
    const expires = takeMatching(this.codes, code);
    if (expires === undefined || expires < this.now()) return null;
    const session = randomBytes(32).toString('base64url');
    remember(this.sessions, session, this.now() + this.sessionIdleMs, this.capacity);
    return session;
  }

  /** True for a live session, whose idle time starts again. */
  check(session: string | undefined): boolean {
    if (!session) return false;
    const expires = this.sessions.get(session);
    if (expires === undefined) return false;
    if (expires < this.now()) {
      this.sessions.delete(session);
      return false;
    }
    this.sessions.set(session, this.now() + this.sessionIdleMs);
    return true;
  }

  end(session: string | undefined): void {
    if (session) this.sessions.delete(session);
  }
}

function remember(map: Map<string, number>, key: string, expires: number, capacity: number): void {
  map.set(key, expires);
  while (map.size > capacity) map.delete(map.keys().next().value!);
}

/** The entry whose key equals `given`, removed; compared in constant time so codes cannot be guessed by timing. */
function takeMatching(map: Map<string, number>, given: string): number | undefined {
  const wanted = Buffer.from(given);
  for (const [key, expires] of map) {
    const candidate = Buffer.from(key);
    if (candidate.length === wanted.length && timingSafeEqual(candidate, wanted)) {
      map.delete(key);
      return expires;
    }
  }
  return undefined;
}

/** The session cookie's value from a Cookie header. */
export function sessionFromCookie(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(session: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${session}; Path=/admin/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}
