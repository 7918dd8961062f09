// Listen addresses as admins write them in main.cf and sendmail.mc, for the milter socket and the
// HTTP listener alike.
import { CodedError, CommonErrorCode } from './errors.js';

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
    if (close < 0 || text[close + 1] !== ':') throw socketSpecError(spec, 'expected [IPv6]:PORT');
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const last = text.lastIndexOf(':');
    if (last < 0) throw socketSpecError(spec, 'missing port');
    host = text.slice(0, last);
    portText = text.slice(last + 1);
  }
  host = host.replace(/^\[|\]$/g, '');
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw socketSpecError(spec, `bad port '${portText}'`);
  if (!host) throw socketSpecError(spec, 'missing host');
  return { host, port };
}

/** A socket or listen address that cannot be read. */
export function socketSpecError(spec: string, why: string): CodedError {
  return new CodedError(CommonErrorCode.SOCKET_SPEC, `invalid socket '${spec}': ${why}`);
}
