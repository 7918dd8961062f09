// Effective configuration: built-in defaults, then the TOML file, then command-line flags.
import { readFile } from 'node:fs/promises';
import { parse as parseToml } from 'smol-toml';
import { CLASS_SCHEMA, CONFIG_SCHEMA, RENAMED_KEYS, RETIRED_KEYS, checkValue, isHostName, type ClassSettings, type ConfigKey, type KeySpec } from './schema.js';
import { CodedError } from '../util/errors.js';
import { ConfigErrorCode } from './errors.js';

type ValueOf<S> = S extends { values: readonly (infer V)[] } ? V : S extends { default: number } ? number : S extends { default: boolean } ? boolean : string;
type FlatValues = { [K in ConfigKey]: ValueOf<(typeof CONFIG_SCHEMA)[K]> };

export type ConfigValues = FlatValues & {
  /** Mail classes by X-GreenArrow-MailClass value; each sets only what differs from `tracking.*`. */
  classes: Record<string, Partial<ClassSettings>>;
  /** Tracking domain by sender (envelope from) domain, lower case. */
  senderDomains: Record<string, string>;
};

interface ConfigProblem {
  key: string;
  value: unknown;
  why: string;
}

export class ConfigError extends CodedError {
  constructor(
    readonly problems: ConfigProblem[],
    source: string,
  ) {
    super(ConfigErrorCode.INVALID, `${source}: ${problems.map((p) => `${p.key} = ${JSON.stringify(p.value)}: ${p.why}`).join('; ')}`);
  }
}

export function defaultConfig(): ConfigValues {
  const out: Record<string, unknown> = { classes: {}, senderDomains: {} };
  for (const [key, spec] of Object.entries(CONFIG_SCHEMA)) out[key] = spec.default;
  return out as ConfigValues;
}

/** `[classes.NAME]` tables: each key checked against the class schema. */
function readClasses(tables: unknown, problems: ConfigProblem[]): ConfigValues['classes'] {
  const out: ConfigValues['classes'] = {};
  if (tables === undefined) return out;
  if (!isTable(tables)) {
    problems.push({ key: 'classes', value: tables, why: 'must be a table of [classes.NAME] tables' });
    return out;
  }
  for (const [name, table] of Object.entries(tables)) {
    if (!isTable(table)) {
      problems.push({ key: `classes.${name}`, value: table, why: 'must be a table' });
      continue;
    }
    const settings: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(table)) {
      const spec = (CLASS_SCHEMA as Record<string, KeySpec>)[key];
      const why = spec ? checkValue(spec, value) : `unknown key (a class may set ${Object.keys(CLASS_SCHEMA).join(', ')})`;
      if (why) problems.push({ key: `classes.${name}.${key}`, value, why });
      else settings[key] = value;
    }
    out[name] = settings;
  }
  return out;
}

function readSenderDomains(table: unknown, problems: ConfigProblem[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (table === undefined) return out;
  if (!isTable(table)) {
    problems.push({ key: 'sender_domains', value: table, why: 'must be a table of "sender.domain" = "tracking.domain"' });
    return out;
  }
  for (const [sender, tracking] of Object.entries(table)) {
    const key = `sender_domains."${sender}"`;
    if (!isHostName(sender)) problems.push({ key, value: sender, why: 'the sender domain is not a domain name' });
    else if (typeof tracking !== 'string' || !isHostName(tracking)) problems.push({ key, value: tracking, why: 'must be a tracking domain name' });
    else out[sender.toLowerCase()] = tracking;
  }
  return out;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** Flattens `{ milter: { listen: x } }` into `{ 'milter.listen': x }`. */
function flatten(obj: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) Object.assign(out, flatten(v as Record<string, unknown>, key));
    else out[key] = v;
  }
  return out;
}

/** Applies overrides, checking each against the schema; every problem is reported, not just the first. */
function applyValues(base: ConfigValues, values: Record<string, unknown>, source: string): ConfigValues {
  const problems: ConfigProblem[] = [];
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(values)) {
    const spec = (CONFIG_SCHEMA as Record<string, KeySpec>)[key];
    if (!spec) {
      problems.push({ key, value, why: 'unknown key' });
      continue;
    }
    const why = checkValue(spec, value);
    if (why) problems.push({ key, value, why });
    else out[key] = value;
  }
  if (problems.length > 0) throw new ConfigError(problems, source);
  return out as ConfigValues;
}

/**
 * Old key names read under their new names, and retired keys dropped, each with a warning for the log
 * and `check-config`.
 */
function renameOrRetireOldKeys(values: Record<string, unknown>, warnings: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    const renamed = RENAMED_KEYS[key];
    const retired = RETIRED_KEYS[key];
    if (retired) {
      warnings.push(`${key} is no longer used (${retired}); remove it`);
    } else if (!renamed) {
      out[key] = value;
    } else if (renamed in values) {
      warnings.push(`${key} is the old name of ${renamed}, which is also set: ${key} is ignored; remove it`);
    } else {
      warnings.push(`${key} is deprecated: it is read as ${renamed}; rename it in the config file`);
      out[renamed] = value;
    }
  }
  return out;
}

export interface LoadedConfig {
  config: ConfigValues;
  /** Things that work but should change (old key names); the daemon logs them, check-config prints them. */
  warnings: string[];
}

export async function loadConfig(file: string | undefined, overrides: Record<string, unknown>): Promise<ConfigValues> {
  return (await readConfig(file, overrides)).config;
}

export async function readConfig(file: string | undefined, overrides: Record<string, unknown>): Promise<LoadedConfig> {
  const warnings: string[] = [];
  let config = defaultConfig();
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new CodedError(ConfigErrorCode.READ, `cannot read config file ${file}: ${(err as Error).message}`, { cause: err });
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = parseToml(text);
    } catch (err) {
      throw new CodedError(ConfigErrorCode.SYNTAX, `${file}: ${(err as Error).message}`, { cause: err });
    }
    const { classes, sender_domains: senderDomains, ...rest } = parsed;
    const problems: ConfigProblem[] = [];
    const parsedClasses = readClasses(classes, problems);
    const parsedDomains = readSenderDomains(senderDomains, problems);
    try {
      config = applyValues(config, renameOrRetireOldKeys(flatten(rest), warnings), file);
    } catch (err) {
      if (err instanceof ConfigError) problems.unshift(...err.problems);
      else throw err;
    }
    if (problems.length > 0) throw new ConfigError(problems, file);
    config = { ...config, classes: parsedClasses, senderDomains: parsedDomains };
  }
  return { config: applyValues(config, overrides, 'command line'), warnings };
}
