// `trackmilter check-config` and `trackmilter keygen`.
import { COMMON_OPTIONS, flagOverrides, parseCommand } from './args.js';
import { ConfigError, loadConfig, readConfig, type ConfigValues, type LoadedConfig } from '../config/load.js';
import { roleWarnings } from '../app/role-warnings.js';
import { isDaemonRole } from '../app/daemon.js';
import { CodedError } from '../util/errors.js';
import { addKey } from '../tokens/index.js';
import { CliErrorCode } from './errors.js';

export const CHECK_CONFIG_HELP = `Usage: trackmilter check-config [--config FILE] [--milter SOCKET] [--http HOST:PORT] [--data DIR] [--role ROLE] [--json]

Prints the effective configuration (defaults, then the file, then the flags), or every problem found,
each naming the key, the value and why, and exits 1. Warnings (old key names, settings that do nothing
in the role: serve, the default, milter or redirector) go to stderr, each on a line starting
'warning: '; they do not change the exit code.
`;

export const KEYGEN_HELP = `Usage: trackmilter keygen [--config FILE] [--data DIR]

Adds a new signing key (DIR/keys, mode 0600) and makes it the one new links are signed with. Older keys
stay, so links already sent keep working; restart or reload the daemon to start using the new key.
`;

export async function checkConfigCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(argv, { ...COMMON_OPTIONS, json: { type: 'boolean' }, role: { type: 'string', default: 'serve' } });
  if (values.help) {
    process.stdout.write(CHECK_CONFIG_HELP);
    return 0;
  }
  const role = values.role;
  if (!isDaemonRole(role)) throw new CodedError(CliErrorCode.USAGE, `--role is serve, milter or redirector, not ${JSON.stringify(role)}`);
  let loaded: LoadedConfig;
  try {
    loaded = await readConfig(values.config, flagOverrides(values));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const p of err.problems) process.stderr.write(`${p.key} = ${JSON.stringify(p.value)}: ${p.why}\n`);
    return 1;
  }
  const { config, warnings } = loaded;
  for (const warning of [...warnings, ...roleWarnings(config, role)]) process.stderr.write(`warning: ${warning}\n`);
  process.stdout.write(values.json ? JSON.stringify(config, null, 2) + '\n' : renderToml(config));
  return 0;
}

/** The effective config as TOML an admin could paste into a file. */
function renderToml(config: ConfigValues): string {
  const { classes, senderDomains, ...flat } = config;
  const sections = new Map<string, string[]>();
  for (const [key, value] of Object.entries(flat)) {
    const dot = key.indexOf('.');
    const section = key.slice(0, dot);
    const lines = sections.get(section) ?? [];
    lines.push(`${key.slice(dot + 1)} = ${JSON.stringify(value)}`);
    sections.set(section, lines);
  }
  const out: string[] = [];
  for (const [section, lines] of sections) out.push(`[${section}]`, ...lines, '');
  for (const [name, settings] of Object.entries(classes)) {
    out.push(`[classes.${JSON.stringify(name)}]`, ...Object.entries(settings).map(([k, v]) => `${k} = ${JSON.stringify(v)}`), '');
  }
  if (Object.keys(senderDomains).length > 0) {
    out.push('[sender_domains]', ...Object.entries(senderDomains).map(([k, v]) => `${JSON.stringify(k)} = ${JSON.stringify(v)}`), '');
  }
  return out.join('\n');
}

export async function keygenCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(argv, COMMON_OPTIONS);
  if (values.help) {
    process.stdout.write(KEYGEN_HELP);
    return 0;
  }
  const config = await loadConfig(values.config, flagOverrides(values));
  const keyring = await addKey(config['data.dir']);
  process.stdout.write(`new signing key ${keyring.current.kid} in ${config['data.dir']}/keys; keys kept for verifying: ${keyring.kids.join(', ')}\n`);
  return 0;
}
