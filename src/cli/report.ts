// `trackmilter report` and `trackmilter events`: a send's numbers and its events, from the running daemon.
import { COMMON_OPTIONS, flagOverrides, parseCommand } from './args.js';
import { loadConfig } from '../config/load.js';
import { adminRequest, expectJson } from './admin-client.js';
import { formatReport, type SendReport } from '../reports/report.js';
import { CodedError } from '../util/errors.js';
import { CliErrorCode } from './errors.js';

export const REPORT_HELP = `Usage: trackmilter report --sendid ID [--json] [--config FILE] [--http HOST:PORT] [--data DIR]

A send's numbers from the running daemon: messages, opens, unique opens, clicks, unique clicks,
bounces, complaints, each for all events, people and machines (scanners, prefetchers, privacy
proxies, HEAD requests; the final verdict, after any reclassification); machine opens and clicks by
reason; and clicks per link (URL up to '?', and link name): all, people, machines, unique people.
The daemon is found from the same config and flags as 'serve' (http.listen, data.dir for the admin token).
`;

export const EVENTS_HELP = `Usage: trackmilter events --sendid ID [--since TIME] [--until TIME] [--format json|csv] [--config FILE] [--http HOST:PORT] [--data DIR]

A send's events in time order from the running daemon: JSON (one object per line, the default) or CSV.
TIME is ISO 8601 (2026-11-22 or 2026-11-22T10:00:00Z).
`;

const DAEMON_OPTIONS = { ...COMMON_OPTIONS, sendid: { type: 'string' } } as const;

export async function reportCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(argv, { ...DAEMON_OPTIONS, json: { type: 'boolean' } });
  if (values.help) {
    process.stdout.write(REPORT_HELP);
    return 0;
  }
  if (values.sendid === undefined) throw new CodedError(CliErrorCode.USAGE, '--sendid is required (use --sendid "" for mail without a SendID)');
  const config = await loadConfig(values.config, flagOverrides(values));
  const report = expectJson<SendReport>(await adminRequest(config, `/admin/report?sendid=${encodeURIComponent(values.sendid)}`));
  process.stdout.write(values.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  return 0;
}

export const EXPORT_HELP = EVENTS_HELP.replace('Usage: trackmilter events', 'Usage: trackmilter export');

export async function eventsCommand(argv: string[], help = EVENTS_HELP): Promise<number> {
  const { values } = parseCommand(argv, { ...DAEMON_OPTIONS, since: { type: 'string' }, until: { type: 'string' }, format: { type: 'string' } });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  if (values.sendid === undefined) throw new CodedError(CliErrorCode.USAGE, '--sendid is required');
  const format = values.format ?? 'json';
  if (format !== 'json' && format !== 'csv') throw new CodedError(CliErrorCode.USAGE, '--format is json or csv');
  const config = await loadConfig(values.config, flagOverrides(values));
  const query = new URLSearchParams({ sendid: values.sendid, format });
  if (values.since) query.set('since', values.since);
  if (values.until) query.set('until', values.until);
  const res = await adminRequest(config, `/admin/events?${query.toString()}`, { onData: (chunk) => process.stdout.write(chunk) });
  if (res.status !== 200) expectJson(res);
  return 0;
}
