/**
 * Which address a request came from. Behind a reverse proxy the socket peer is the proxy, and the
 * client is in X-Forwarded-For; but anyone can send that header, so it is only read when the peer is
 * a configured trusted proxy, and then only as far back as the chain of trusted proxies goes.
 */
import { isIP } from 'node:net';
import { AddressSet, normalizeAddress } from './ip-address.js';

/** One X-Forwarded-For entry as an address, or null: accepts `1.2.3.4`, `1.2.3.4:567`, `[::1]:80`, `::1`. */
function parseForwardedEntry(entry: string): string | null {
  let text = entry.trim();
  if (text.length > 1 && text.charCodeAt(0) === 0x22 && text.endsWith('"')) text = text.slice(1, -1);
  if (text.charCodeAt(0) === 0x5b /* [ */) {
    const close = text.indexOf(']');
    if (close === -1) return null;
    text = text.slice(1, close);
  } else {
    const colon = text.indexOf(':');
    if (colon !== -1 && colon === text.lastIndexOf(':')) text = text.slice(0, colon); // IPv4 with a port
  }
  return isIP(text) === 0 ? null : normalizeAddress(text);
}

export type ClientIpResolver = (peerAddress: string | undefined, forwardedFor: string | string[] | undefined) => string;

/**
 * With no trusted proxies the client is the socket peer and X-Forwarded-For is ignored. Otherwise the
 * client is the right-most address of `X-Forwarded-For, peer` that is not a trusted proxy. An entry
 * that is not an address stops the walk at the trusted hop that received it (what lies to its left was
 * written by the client and cannot be believed).
 */
export function createClientIpResolver(trustedProxies: readonly string[]): ClientIpResolver {
  const trusted = new AddressSet(trustedProxies, 'trusted proxy');
  return (peerAddress, forwardedFor) => {
    let client = normalizeAddress(peerAddress ?? '');
    if (trusted.size === 0 || forwardedFor === undefined || !trusted.has(client)) return client;
    const chain = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
    for (let i = chain.length - 1; i >= 0; i -= 1) {
      const hop = parseForwardedEntry(chain[i] ?? '');
      if (hop === null) return client;
      client = hop;
      if (!trusted.has(hop)) return hop;
    }
    return client;
  };
}
