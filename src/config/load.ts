// Effective configuration: built-in defaults, then the TOML file, then command-line flags.
import { readFile } from 'node:fs/promises';
import { parse as parseToml } from 'smol-toml';
import { CONFIG_SCHEMA, checkValue, type ConfigKey, type KeySpec } from './schema.js';
import { CodedError } from '../util/errors.js';

type ValueOf<D> = D extends number ? number : D extends boolean ? boolean : string;
export type ConfigValues = { [K in ConfigKey]: ValueOf<(typeof CONFIG_SCHEMA)[K]['default']> };

export interface ConfigProblem {
  key: string;
  value: unknown;
  why: string;
}

export class ConfigError extends CodedError {
  constructor(readonly problems: ConfigProblem[], source: string) {
    super('ECONFIG', `${source}: ${problems.map((p) => `${p.key} = ${JSON.stringify(p.value)}: ${p.why}`).join('; ')}`);
  }
}

export function defaultConfig(): ConfigValues {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(CONFIG_SCHEMA)) out[key] = spec.default;
  return out as ConfigValues;
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
export function applyValues(base: ConfigValues, values: Record<string, unknown>, source: string): ConfigValues {
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

export async function loadConfig(file: string | undefined, overrides: Record<string, unknown>): Promise<ConfigValues> {
  let config = defaultConfig();
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new CodedError('ECONFIG_READ', `cannot read config file ${file}: ${(err as Error).message}`, { cause: err });
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = parseToml(text) as Record<string, unknown>;
    } catch (err) {
      throw new CodedError('ECONFIG_SYNTAX', `${file}: ${(err as Error).message}`, { cause: err });
    }
    config = applyValues(config, flatten(parsed), file);
  }
  return applyValues(config, overrides, 'command line');
}
