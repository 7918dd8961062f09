// `trackmilter dashboard`: a one-time login URL for the dashboard the daemon serves under /admin/.
// The admin token stays on this machine (it asks the daemon for a login code with it); the URL
// carries only the code, which the daemon exchanges once for a session cookie.
import { COMMON_OPTIONS, flagOverrides, parseCommand } from './args.js';
import { loadConfig, type ConfigValues } from '../config/load.js';
import { adminRequest, connectHost, expectJson } from './admin-client.js';
import { parseHostPort } from '../util/host-port.js';
import { CodedError } from '../util/errors.js';
import { CliErrorCode } from './errors.js';

export const DASHBOARD_HELP = `Usage: trackmilter dashboard [--base URL] [--config FILE] [--http HOST:PORT] [--data DIR]

Prints, on its last line, a URL that logs a browser into the dashboard (sends, charts, click maps):
open it within 5 minutes; it works once. The daemon is found as for 'report' (http.listen, data.dir).
Over an SSH tunnel (ssh -L 8080:127.0.0.1:8080 server), open the URL on your machine as printed, or
give --base http://localhost:PORT when the tunnel's local port differs.
`;

export async function dashboardCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(argv, { ...COMMON_OPTIONS, base: { type: 'string' } });
  if (values.help) {
    process.stdout.write(DASHBOARD_HELP);
    return 0;
  }
  const config = await loadConfig(values.config, flagOverrides(values));
  const base = values.base ?? daemonBase(config);
  if (!/^https?:\/\/[^/?#]+\/?$/.test(base)) throw new CodedError(CliErrorCode.USAGE, '--base is a scheme and host, e.g. http://localhost:8080');
  const { code, expiresAt } = expectJson<{ code: string; expiresAt: string }>(
    await adminRequest(config, '/admin/login-code', { method: 'POST', body: Buffer.alloc(0) }),
  );
  process.stdout.write(`Open this URL in a browser before ${expiresAt}; it logs in once:\n${base.replace(/\/$/, '')}/admin/login?code=${code}\n`);
  return 0;
}

function daemonBase(config: ConfigValues): string {
  const { host, port } = parseHostPort(config['http.listen']);
  const shown = connectHost(host);
  return `${config['http.tls_cert'] ? 'https' : 'http'}://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
}
