/**
 * Whether a request's Host header names one of our tracking domains. Links are only ever minted for
 * those, so anything else is a scanner, a misdirected request or someone probing: it gets a 404.
 */

/** `Example.COM:8080` -> `example.com`; `[::1]:80` -> `::1`; a trailing root dot is dropped. */
function hostnameOf(hostHeader: string): string {
  let host = hostHeader.trim().toLowerCase();
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    const close = host.indexOf(']');
    return close === -1 ? host : host.slice(1, close);
  }
  const colon = host.indexOf(':');
  if (colon !== -1) host = host.slice(0, colon);
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/** True when the request may be served. No configured hosts means any Host (the one-machine default). */
export type HostCheck = (hostHeader: string | undefined) => boolean;

export function createHostCheck(trackingHosts: readonly string[] | undefined): HostCheck {
  const hosts = new Set((trackingHosts ?? []).map(hostnameOf).filter((host) => host !== ''));
  if (hosts.size === 0) return () => true;
  return (hostHeader) => hostHeader !== undefined && hosts.has(hostnameOf(hostHeader));
}
