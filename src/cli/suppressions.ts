// `trackmilter suppressions`: list, add, remove and import who is kept from a list's mail, through the
// running daemon (it holds the store).
import { readFile } from 'node:fs/promises';
import { COMMON_OPTIONS, flagOverrides, parseCommand } from './args.js';
import { loadConfig } from '../config/load.js';
import { adminRequest, expectJson } from './admin-client.js';
import { MAX_ENTRIES_PER_REQUEST, type SuppressionEntry } from '../unsubscribe/admin.js';
import { CodedError } from '../util/errors.js';
import { CliErrorCode } from './errors.js';

export const SUPPRESSIONS_HELP = `Usage: trackmilter suppressions list [--list LISTID] [--json]
       trackmilter suppressions add --list LISTID ADDRESS...
       trackmilter suppressions remove --list LISTID ADDRESS...
       trackmilter suppressions import [--list LISTID] FILE|-
  (each also takes --config FILE --http HOST:PORT --data DIR, to find the running daemon)

Recipients who unsubscribed from a list (X-GreenArrow-ListID) are removed from the envelope of the
list's later mail (unsubscribe.suppression). One-click unsubscribes add them; these commands show and
change them by hand.
  list     every suppression (or one list's): LISTID, address, time, source, SendID; --json: JSON lines
  add      suppress these addresses from the list (source 'manual')
  remove   let these addresses receive the list again
  import   read a file (or stdin with -): one address per line with --list, otherwise lines
           'LISTID,ADDRESS' (a CSV export); blank lines and lines starting with # are skipped.
           Source 'import'. Sent in batches of ${MAX_ENTRIES_PER_REQUEST}.
`;

const OPTIONS = { ...COMMON_OPTIONS, list: { type: 'string' }, json: { type: 'boolean' } } as const;

export async function suppressionsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, OPTIONS, true);
  const [action, ...args] = positionals;
  if (values.help || action === undefined) {
    process.stdout.write(SUPPRESSIONS_HELP);
    return values.help ? 0 : 2;
  }
  const config = await loadConfig(values.config, flagOverrides(values));
  switch (action) {
    case 'list': {
      const query = values.list ? `?list=${encodeURIComponent(values.list)}` : '';
      const res = await adminRequest(config, `/admin/suppressions${query}`);
      if (res.status !== 200) expectJson(res);
      const text = res.body.toString('utf8');
      if (values.json) process.stdout.write(text);
      else process.stdout.write(formatList(text));
      return 0;
    }
    case 'add':
    case 'remove': {
      if (!values.list) throw new CodedError(CliErrorCode.USAGE, `suppressions ${action} needs --list LISTID`);
      if (args.length === 0) throw new CodedError(CliErrorCode.USAGE, `suppressions ${action} needs at least one address`);
      const entries = args.map((address) => ({ listId: values.list!, address }));
      const done = await send(config, action, entries, 'manual');
      process.stdout.write(`${action === 'add' ? 'added' : 'removed'} ${done}\n`);
      return 0;
    }
    case 'import': {
      const file = args[0];
      if (file === undefined || args.length > 1) throw new CodedError(CliErrorCode.USAGE, 'suppressions import takes one FILE (or - for stdin)');
      const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
      const entries = parseImport(text, values.list);
      const done = await send(config, 'add', entries, 'import');
      process.stdout.write(`imported ${done}\n`);
      return 0;
    }
    default:
      throw new CodedError(CliErrorCode.USAGE, `unknown suppressions action '${action}' (list, add, remove, import)`);
  }
}

/** Lines of an import file as entries; throws EUSAGE naming the first line that is neither. */
function parseImport(text: string, list: string | undefined): SuppressionEntry[] {
  const entries: SuppressionEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    if (list) {
      entries.push({ listId: list, address: line });
      return;
    }
    const comma = line.lastIndexOf(',');
    if (comma <= 0) throw new CodedError(CliErrorCode.USAGE, `line ${i + 1}: expected LISTID,ADDRESS (or give --list)`);
    entries.push({ listId: unquote(line.slice(0, comma).trim()), address: unquote(line.slice(comma + 1).trim()) });
  });
  return entries;
}

function unquote(text: string): string {
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1).replace(/""/g, '"') : text;
}

async function send(
  config: Awaited<ReturnType<typeof loadConfig>>,
  action: 'add' | 'remove',
  entries: SuppressionEntry[],
  source: 'manual' | 'import',
): Promise<number> {
  let done = 0;
  for (let at = 0; at < entries.length; at += MAX_ENTRIES_PER_REQUEST) {
    const batch = entries.slice(at, at + MAX_ENTRIES_PER_REQUEST);
    const body = Buffer.from(JSON.stringify({ source, entries: batch }));
    expectJson(await adminRequest(config, `/admin/suppressions/${action}`, { method: 'POST', body }));
    done += batch.length;
  }
  return done;
}

function formatList(jsonLines: string): string {
  const rows = jsonLines
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { listId: string; address: string; time: string; source: string; sendId: string });
  return rows.map((r) => [r.listId, r.address, r.time, r.source, r.sendId || '-'].join('\t')).join('\n') + (rows.length ? '\n' : '');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
