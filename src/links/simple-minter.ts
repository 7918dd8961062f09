import { createHmac, timingSafeEqual } from 'node:crypto';
import type { LinkFound, LinkMinter, PartCode } from '../rewrite/types.js';

/**
 * A stand-in LinkMinter until the real link identity work lands: each token carries its link
 * (position, part, URL) in the clear plus a truncated HMAC-SHA256, so the redirector needs no state.
 *
 * Token bytes: version (1) | kind ('c' click, 'o' open) | for clicks: position (uint32 BE) | part ('h'/'t')
 * | URL (UTF-8) ... then 16 bytes of HMAC-SHA256 over everything before it. Encoded as base64url.
 */

const VERSION = 1;
const MAC_BYTES = 16;
const KIND_CLICK = 0x63; // 'c'
const KIND_OPEN = 0x6f; // 'o'
const CLICK_HEADER_BYTES = 7; // version, kind, position (4), part
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export interface SimpleMinterOptions {
  /** Where the redirector is reached, e.g. `http://127.0.0.1:8080`; a trailing slash is ignored. */
  baseUrl: string;
  key: Buffer;
  /** Hosts whose links are ours already (the base URL's host always is). */
  trackingHosts: string[];
}

export type SimpleToken =
  | { ok: true; kind: 'click'; position: number; part: PartCode; url: string }
  | { ok: true; kind: 'open' };

export type SimpleTokenRejection = { ok: false; code: 'bad-mac' | 'malformed' };

function mac(key: Buffer, payload: Buffer): Buffer {
  return createHmac('sha256', key).update(payload).digest().subarray(0, MAC_BYTES);
}

function seal(key: Buffer, payload: Buffer): string {
  return Buffer.concat([payload, mac(key, payload)]).toString('base64url');
}

function clickPayload(link: LinkFound): Buffer {
  const url = Buffer.from(link.url, 'utf8');
  const payload = Buffer.alloc(CLICK_HEADER_BYTES + url.length);
  payload[0] = VERSION;
  payload[1] = KIND_CLICK;
  payload.writeUInt32BE(link.position, 2);
  payload[6] = link.part.charCodeAt(0);
  url.copy(payload, CLICK_HEADER_BYTES);
  return payload;
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return null;
  }
}

export function createSimpleMinter(options: SimpleMinterOptions): LinkMinter {
  const base = options.baseUrl.replace(/\/+$/, '');
  const hosts = new Set(options.trackingHosts.map((host) => host.toLowerCase()));
  const baseHost = hostOf(base);
  if (baseHost) hosts.add(baseHost);
  const openUrl = `${base}/o/${seal(options.key, Buffer.from([VERSION, KIND_OPEN]))}`;
  return {
    click: (link) => `${base}/c/${seal(options.key, clickPayload(link))}`,
    open: () => openUrl,
    isTrackingUrl: (url) => {
      const host = hostOf(url);
      return host !== null && hosts.has(host);
    },
  };
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodePayload(payload: Buffer): SimpleToken | null {
  if (payload[0] !== VERSION) return null;
  if (payload[1] === KIND_OPEN) return payload.length === 2 ? { ok: true, kind: 'open' } : null;
  if (payload[1] !== KIND_CLICK || payload.length < CLICK_HEADER_BYTES) return null;
  const part = String.fromCharCode(payload[6] as number);
  if (part !== 'h' && part !== 't') return null;
  try {
    const url = STRICT_UTF8.decode(payload.subarray(CLICK_HEADER_BYTES));
    return { ok: true, kind: 'click', position: payload.readUInt32BE(2), part, url };
  } catch {
    return null;
  }
}

/** Check a token's MAC (in constant time) and decode it. */
export function verifySimpleToken(key: Buffer, token: string): SimpleToken | SimpleTokenRejection {
  if (!BASE64URL.test(token)) return { ok: false, code: 'malformed' };
  const bytes = Buffer.from(token, 'base64url');
  // Node's decoder ignores unused trailing bits; a token that is not the canonical spelling of its bytes
  // was altered, so it must not verify.
  if (bytes.length <= MAC_BYTES || bytes.toString('base64url') !== token) return { ok: false, code: 'malformed' };
  const payload = bytes.subarray(0, bytes.length - MAC_BYTES);
  if (!timingSafeEqual(mac(key, payload), bytes.subarray(bytes.length - MAC_BYTES))) {
    return { ok: false, code: 'bad-mac' };
  }
  return decodePayload(payload) ?? { ok: false, code: 'malformed' };
}
