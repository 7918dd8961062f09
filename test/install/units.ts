// Reading the systemd units the way systemd does, for the install tests: the value of a key, the
// readiness probe command line, and the daemon arguments from Environment=TRACKMILTER_ARGS.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../helpers/postfix-lab.js';

export const SYSTEMD_DIR = path.join(PROJECT_ROOT, 'systemd');
export const UNITS = ['trackmilter.service', 'trackmilter-redirector.service'] as const;

export function unitText(unit: string): string {
  return readFileSync(path.join(SYSTEMD_DIR, unit), 'utf8');
}

/** Every value of `key=` in the unit (comments skipped), in order. */
export function unitValues(text: string, key: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));
}

export function unitValue(text: string, key: string): string {
  const values = unitValues(text, key);
  if (values.length !== 1) throw new Error(`expected one ${key}= line, found ${values.length}`);
  return values[0]!;
}

/** The words of Environment=TRACKMILTER_ARGS="..." (systemd splits an unbraced $VAR on whitespace). */
export function trackmilterArgs(text: string): string[] {
  const env = unitValues(text, 'Environment').find((v) => v.startsWith('TRACKMILTER_ARGS='));
  if (!env) throw new Error('no Environment=TRACKMILTER_ARGS=');
  return env
    .slice('TRACKMILTER_ARGS='.length)
    .replace(/^"(.*)"$/, '$1')
    .split(/\s+/)
    .filter((w) => w !== '');
}

/** The shell script of `ExecStartPost=/bin/sh -c '...'`, with systemd's `$$` turned into `$`. */
export function readinessScript(text: string): string {
  const value = unitValue(text, 'ExecStartPost');
  const match = /^\/bin\/sh -c '(.*)'$/.exec(value);
  if (!match) throw new Error(`ExecStartPost is not /bin/sh -c '...': ${value}`);
  return match[1]!.replace(/\$\$/g, '$');
}
