// Socket specifications in the forms admins already write in main.cf and sendmail.mc:
//   inet:127.0.0.1:8899   inet:[::1]:8899   inet6:[::1]:8899   inet:8899@127.0.0.1   unix:/run/x.sock   local:/run/x.sock
import { parseHostPort, socketSpecError } from '../util/host-port.js';

export type SocketSpec = { kind: 'inet'; host: string; port: number } | { kind: 'unix'; path: string };

export function parseSocketSpec(spec: string): SocketSpec {
  const colon = spec.indexOf(':');
  const scheme = colon < 0 ? '' : spec.slice(0, colon).toLowerCase();
  const rest = colon < 0 ? spec : spec.slice(colon + 1);
  if (scheme === 'unix' || scheme === 'local') {
    if (!rest) throw socketSpecError(spec, 'a unix socket needs a path');
    return { kind: 'unix', path: rest };
  }
  if (scheme === 'inet' || scheme === 'inet6') return { kind: 'inet', ...parseHostPort(rest, spec) };
  if (spec.startsWith('/')) return { kind: 'unix', path: spec };
  throw socketSpecError(spec, 'expected inet:HOST:PORT or unix:/path');
}

export function formatSocketSpec(s: SocketSpec): string {
  if (s.kind === 'unix') return `unix:${s.path}`;
  return s.host.includes(':') ? `inet:[${s.host}]:${s.port}` : `inet:${s.host}:${s.port}`;
}
