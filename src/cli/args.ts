// Shared command-line handling: the flags that every daemon-facing command accepts.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CodedError } from '../util/errors.js';
import { CliErrorCode } from './errors.js';

export const COMMON_OPTIONS = {
  config: { type: 'string' },
  milter: { type: 'string' },
  http: { type: 'string' },
  data: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export function parseCommand<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new CodedError(CliErrorCode.USAGE, (err as Error).message, { cause: err });
  }
}

/** The config keys that the common flags override. */
export function flagOverrides(values: { milter?: string; http?: string; data?: string }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (values.milter !== undefined) out['milter.listen'] = values.milter;
  if (values.http !== undefined) out['http.listen'] = values.http;
  if (values.data !== undefined) out['data.dir'] = values.data;
  return out;
}
