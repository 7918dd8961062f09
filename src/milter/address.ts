// Socket specifications in the forms admins already write in main.cf and sendmail.mc:
//   inet:127.0.0.1:8899   inet:[::1]:8899   inet6:[::1]:8899   inet:8899@127.0.0.1   unix:/run/x.sock   local:/run/x.sock
import { CodedError } from '../util/errors.js';

export type SocketSpec = { kind: 'inet'; host: string; port: number } | { kind: 'unix'; path: string };

export function parseSocketSpec(spec: string): SocketSpec {
  const colon = spec.indexOf(':');
  const scheme = colon < 0 ? '' : spec.slice(0, colon).toLowerCase();
  const rest = colon < 0 ? spec : spec.slice(colon + 1);
  if (scheme === 'unix' || scheme === 'local') {
    if (!rest) throw bad(spec, 'a unix socket needs a path');
    return { kind: 'unix', path: rest };
  }
  if (scheme === 'inet' || scheme === 'inet6') return { kind: 'inet', ...parseHostPort(rest, spec) };
  if (spec.startsWith('/')) return { kind: 'unix', path: spec };
  throw bad(spec, 'expected inet:HOST:PORT or unix:/path');
}

/** `host:port`, `[v6]:port`, or sendmail's `port@host`. */
export function parseHostPort(text: string, spec = text): { host: string; port: number } {
  let host: string;
  let portText: string;
  const at = text.indexOf('@');
  if (at >= 0) {
    portText = text.slice(0, at);
    host = text.slice(at + 1);
  } else if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') throw bad(spec, 'expected [IPv6]:PORT');
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const last = text.lastIndexOf(':');
    if (last < 0) throw bad(spec, 'missing port');
    host = text.slice(0, last);
    portText = text.slice(last + 1);
  }
  host = host.replace(/^\[|\]$/g, '');
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw bad(spec, `bad port '${portText}'`);
  if (!host) throw bad(spec, 'missing host');
  return { host, port };
}

export function formatSocketSpec(s: SocketSpec): string {
  if (s.kind === 'unix') return `unix:${s.path}`;
  return s.host.includes(':') ? `inet:[${s.host}]:${s.port}` : `inet:${s.host}:${s.port}`;
}

function bad(spec: string, why: string): CodedError {
  return new CodedError('ESOCKET_SPEC', `invalid socket '${spec}': ${why}`);
}
