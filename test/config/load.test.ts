import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, loadConfig, readConfig } from '../../src/config/load.js';
import { RENAMED_KEYS } from '../../src/config/schema.js';
import { flagOverrides } from '../../src/cli/args.js';
import { CodedError } from '../../src/util/errors.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tm-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
async function tomlFile(text: string): Promise<string> {
  const file = path.join(dir, `c${n++}.toml`);
  await writeFile(file, text);
  return file;
}

async function configError(file: string | undefined, overrides: Record<string, unknown> = {}): Promise<ConfigError> {
  const err = await loadConfig(file, overrides).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe('loadConfig', () => {
  it('with no file and no flags: the documented defaults (DESIGN.md: milter 127.0.0.1:8899, HTTP 127.0.0.1:8080, ./data)', async () => {
    const config = await loadConfig(undefined, {});
    expect(config).toEqual(defaultConfig());
    expect(config['milter.listen']).toBe('inet:127.0.0.1:8899');
    expect(config['http.listen']).toBe('127.0.0.1:8080');
    expect(config['data.dir']).toBe('./data');
    // Failure policy: pass mail unchanged unless configured otherwise.
    expect(config['milter.on_error']).toBe('accept');
    expect(config['milter.socket_mode']).toBe('0660');
    expect(config['milter.filter_timeout_ms']).toBeGreaterThan(0);
    expect(config['milter.max_message_bytes']).toBeGreaterThan(0);
  });

  it('a TOML file overrides the keys it names and leaves the rest at their defaults', async () => {
    const file = await tomlFile(`
[milter]
listen = "unix:/run/trackmilter/milter.sock"
on_error = "tempfail"
filter_timeout_ms = 2500
socket_mode = "0600"

[data]
dir = "/var/lib/trackmilter"
`);
    const config = await loadConfig(file, {});
    expect(config).toEqual({
      ...defaultConfig(),
      'milter.listen': 'unix:/run/trackmilter/milter.sock',
      'milter.on_error': 'tempfail',
      'milter.filter_timeout_ms': 2500,
      'milter.socket_mode': '0600',
      'data.dir': '/var/lib/trackmilter',
    });
  });

  it('dotted keys at the top level work like tables', async () => {
    const file = await tomlFile(`"http.listen" = "[::1]:8081"\nlog.level = "debug"\n`);
    const config = await loadConfig(file, {});
    expect(config['http.listen']).toBe('[::1]:8081');
    expect(config['log.level']).toBe('debug');
  });

  it('flags override the file, and only the keys they set', async () => {
    const file = await tomlFile(`[milter]\nlisten = "inet:127.0.0.1:9001"\n[http]\nlisten = "127.0.0.1:9002"\n[data]\ndir = "/from/file"\n`);
    const config = await loadConfig(file, flagOverrides({ milter: 'inet:[::1]:7001', data: '/from/flag' }));
    expect(config['milter.listen']).toBe('inet:[::1]:7001');
    expect(config['data.dir']).toBe('/from/flag');
    expect(config['http.listen']).toBe('127.0.0.1:9002');
  });

  it('flags alone override the defaults', async () => {
    const config = await loadConfig(undefined, flagOverrides({ http: '0.0.0.0:80' }));
    expect(config['http.listen']).toBe('0.0.0.0:80');
    expect(config['milter.listen']).toBe(defaultConfig()['milter.listen']);
  });

  it.each([
    ['an unknown key', '[milter]\nlistn = "inet:127.0.0.1:1"\n', 'milter.listn', 'inet:127.0.0.1:1'],
    ['an unknown table', '[bogus]\nkey = 1\n', 'bogus.key', 1],
    ['a wrong type (string for an integer)', '[milter]\nfilter_timeout_ms = "10"\n', 'milter.filter_timeout_ms', '10'],
    ['a wrong type (float for an integer)', '[milter]\nmax_message_bytes = 1.5\n', 'milter.max_message_bytes', 1.5],
    ['a wrong type (integer for a string)', '[data]\ndir = 5\n', 'data.dir', 5],
    ['a value under the minimum', '[milter]\nfilter_timeout_ms = 0\n', 'milter.filter_timeout_ms', 0],
    ['a bad enum', '[milter]\non_error = "drop"\n', 'milter.on_error', 'drop'],
    ['a bad log level', '[log]\nlevel = "verbose"\n', 'log.level', 'verbose'],
    ['a bad socket spec', '[milter]\nlisten = "tcp:127.0.0.1:8899"\n', 'milter.listen', 'tcp:127.0.0.1:8899'],
    ['a socket spec with a bad port', '[milter]\nlisten = "inet:127.0.0.1:70000"\n', 'milter.listen', 'inet:127.0.0.1:70000'],
    ['a bad host:port', '[http]\nlisten = "localhost"\n', 'http.listen', 'localhost'],
    ['a bad mode', '[milter]\nsocket_mode = "rw-rw----"\n', 'milter.socket_mode', 'rw-rw----'],
  ])('%s in the file is a ConfigError naming the key, the value and the file', async (_what, toml, key, value) => {
    const file = await tomlFile(toml);
    const err = await configError(file);
    expect(err.code).toBe('ECONFIG');
    expect(err.problems).toEqual([expect.objectContaining({ key, value })]);
    expect(err.message).toContain(key);
    expect(err.message).toContain(JSON.stringify(value));
    expect(err.message).toContain(file);
  });

  it('every problem in a file is reported at once', async () => {
    const file = await tomlFile('[milter]\non_error = "drop"\nlisten = "nope"\nwhat = 1\n');
    const err = await configError(file);
    expect(err.problems.map((p) => p.key).sort()).toEqual(['milter.listen', 'milter.on_error', 'milter.what']);
  });

  it('a bad flag value is a ConfigError naming the key and value', async () => {
    const err = await configError(undefined, flagOverrides({ milter: 'inet:nowhere' }));
    expect(err.problems).toEqual([expect.objectContaining({ key: 'milter.listen', value: 'inet:nowhere' })]);
    expect(err.message).toContain('milter.listen');
    expect(err.message).toContain('inet:nowhere');
  });

  it('a missing file and a TOML syntax error are coded errors naming the file', async () => {
    const missing = path.join(dir, 'missing.toml');
    const e1 = await loadConfig(missing, {}).then(
      () => null,
      (e: unknown) => e,
    );
    expect(e1).toBeInstanceOf(CodedError);
    expect((e1 as CodedError).message).toContain(missing);
    const broken = await tomlFile('[milter\nlisten = ');
    const e2 = await loadConfig(broken, {}).then(
      () => null,
      (e: unknown) => e,
    );
    expect(e2).toBeInstanceOf(CodedError);
    expect((e2 as CodedError).message).toContain(broken);
  });
});

describe('renamed keys', () => {
  it('an old key name is read under its new name, with a warning naming both', async () => {
    const file = await tomlFile('[limits]\nmax_links = 7\n[events]\nfast_click_seconds = 3\ntruncate_ip = true\n');
    const { config, warnings } = await readConfig(file, {});
    expect(config['rewrite.max_links']).toBe(7);
    expect(config['http.fast_click_seconds']).toBe(3);
    expect(config['http.truncate_ip']).toBe(true);
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(/limits\.max_links is deprecated: it is read as rewrite\.max_links/);
  });

  it('a retired key still starts, is not read, and is reported as no longer used', async () => {
    const file = await tomlFile('[machine]\nverdict_rebuild_ms = 5000\n');
    const { config, warnings } = await readConfig(file, {});
    expect('machine.verdict_rebuild_ms' in config).toBe(false);
    expect(warnings).toEqual([expect.stringMatching(/^machine\.verdict_rebuild_ms is no longer used \(.+\); remove it$/)]);
  });

  it('when both names are set the new one wins and the old one is reported as ignored', async () => {
    const file = await tomlFile('[limits]\nmax_links = 7\n[rewrite]\nmax_links = 9\n');
    const { config, warnings } = await readConfig(file, {});
    expect(config['rewrite.max_links']).toBe(9);
    expect(warnings).toEqual([expect.stringMatching(/limits\.max_links .* also set: limits\.max_links is ignored/)]);
  });

  it('an old name is checked like the new one, and every new name exists', async () => {
    const err = await configError(await tomlFile('[limits]\nmax_links = 0\n'));
    expect(err.problems.map((p) => p.key)).toEqual(['rewrite.max_links']);
    for (const renamed of Object.values(RENAMED_KEYS)) expect(defaultConfig()).toHaveProperty([renamed]);
  });

  it('a file with only current names has no warnings', async () => {
    expect((await readConfig(await tomlFile('[rewrite]\nmax_links = 7\n'), {})).warnings).toEqual([]);
  });
});
