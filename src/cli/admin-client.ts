// How commands reach the running daemon: its HTTP address and data directory come from the same config
// and flags as `serve`, the admin token from the data directory.
import http from 'node:http';
import { parseHostPort } from '../util/host-port.js';
import type { ConfigValues } from '../config/load.js';
import { CodedError } from '../util/errors.js';
import { readAdminToken } from '../admin/admin-token.js';
import { CliErrorCode } from './errors.js';

interface AdminResponse {
  status: number;
  body: Buffer;
}

/** A wildcard listen address is reached over loopback. */
export function connectHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

export async function adminRequest(
  config: ConfigValues,
  path: string,
  options: { method?: 'GET' | 'POST'; body?: Buffer; timeoutMs?: number; onData?: (chunk: Buffer) => void } = {},
): Promise<AdminResponse> {
  const token = await readAdminToken(config['data.dir']);
  const { host, port } = parseHostPort(config['http.listen']);
  const https = config['http.tls_cert'] !== '';
  const lib = https ? await import('node:https') : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      {
        host: connectHost(host),
        port,
        path,
        method: options.method ?? 'GET',
        headers: { Authorization: `Bearer ${token}`, ...(options.body ? { 'Content-Length': options.body.length } : {}) },
        timeout: options.timeoutMs ?? 30_000,
        // The daemon's own certificate names the tracking domain, not loopback.
        ...(https ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => (options.onData && res.statusCode === 200 ? options.onData(chunk) : chunks.push(chunk)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) =>
      reject(
        new CodedError(CliErrorCode.DAEMON_UNREACHABLE, `cannot reach the trackmilter daemon at ${host}:${port} (http.listen): ${err.message}`, { cause: err }),
      ),
    );
    req.end(options.body);
  });
}

/** The JSON of a successful response, or a coded error carrying the daemon's message. */
export function expectJson<T>(res: AdminResponse): T {
  const text = res.body.toString('utf8');
  if (res.status !== 200) {
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {
      // not JSON: keep the text
    }
    throw new CodedError(CliErrorCode.DAEMON_REFUSED, `the daemon answered ${res.status}: ${message}`);
  }
  return JSON.parse(text) as T;
}
