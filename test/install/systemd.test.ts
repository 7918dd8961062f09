// The systemd units as systemd reads them: `systemd-analyze verify` (Debian package systemd), plus the
// promises their comments make (shutdown deadline, config file, readiness probe shipped beside dist/).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseToml } from 'smol-toml';
import { SYSTEMD_DIR, trackmilterArgs, unitText, unitValue, unitValues, UNITS } from './units.js';

const run = promisify(execFile);

async function findSystemdAnalyze(): Promise<string | undefined> {
  for (const candidate of ['/usr/bin/systemd-analyze', '/bin/systemd-analyze']) if (existsSync(candidate)) return candidate;
  return run('sh', ['-c', 'command -v systemd-analyze']).then(
    ({ stdout }) => stdout.trim() || undefined,
    () => undefined,
  );
}

const analyze = await findSystemdAnalyze();
if (!analyze) console.log('test/install: systemd-analyze is missing (Debian package systemd); skipping systemd-analyze verify');

async function verify(files: string[]): Promise<{ code: number; output: string }> {
  return run(analyze!, ['verify', '--man=no', ...files], { timeout: 30_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, output: (stdout + stderr).trim() }),
    (err: Error & { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof err.code === 'number' ? err.code : -1,
      output: `${err.stdout ?? ''}${err.stderr ?? ''}`.trim(),
    }),
  );
}

describe.skipIf(!analyze)('systemd-analyze verify', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'trackmilter-units-'));
  });
  afterAll(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('finds nothing wrong with the units once the trackmilter command exists', async () => {
    // ExecStart names `trackmilter` without a directory (npm puts it in /usr/bin or /usr/local/bin,
    // both on systemd's fixed search path); verify checks that it exists. Verify copies whose
    // ExecStart names a stand-in executable instead, and demand silence: systemd-analyze prints
    // unknown keys and bad values as warnings with exit status 0.
    const stub = path.join(dir, 'bin', 'trackmilter');
    await fs.mkdir(path.dirname(stub));
    await fs.writeFile(stub, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const copies: string[] = [];
    for (const unit of UNITS) {
      const text = unitText(unit);
      expect(unitValue(text, 'ExecStart')).toMatch(/^trackmilter (serve|redirector) \$TRACKMILTER_ARGS$/);
      const copy = path.join(dir, unit);
      await fs.writeFile(copy, text.replace(/^ExecStart=trackmilter /m, `ExecStart=${stub} `));
      copies.push(copy);
    }
    const result = await verify(copies);
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  it('on the units as shipped, complains about nothing but the trackmilter command not being installed here', async () => {
    const result = await verify(UNITS.map((u) => path.join(SYSTEMD_DIR, u)));
    const lines = result.output.split('\n').filter((l) => l.trim() !== '');
    const other = lines.filter((l) => !/Command trackmilter is not executable/.test(l));
    expect(other).toEqual([]);
  });
});

describe('what the units promise', () => {
  it('the stop deadline outlasts the daemon shutdown deadline, and ExecReload sends SIGHUP', () => {
    const config = parseToml(unitTextExample()) as { milter?: { shutdown_timeout_ms?: number } };
    const shutdownMs = config.milter?.shutdown_timeout_ms ?? 10_000;
    for (const unit of UNITS) {
      const text = unitText(unit);
      expect(Number(unitValue(text, 'TimeoutStopSec')) * 1000).toBeGreaterThan(shutdownMs + 5_000);
      expect(unitValue(text, 'ExecReload')).toBe('/bin/kill -HUP $MAINPID');
      expect(unitValue(text, 'MemoryDenyWriteExecute')).toBe('no');
      expect(unitValue(text, 'Type')).toBe('exec');
      expect(unitValues(text, 'CapabilityBoundingSet')).toEqual(['']);
    }
  });

  it('the service keeps its data in its StateDirectory and its socket in its RuntimeDirectory', () => {
    const text = unitText('trackmilter.service');
    const args = trackmilterArgs(text);
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect(flag('--data')).toBe(`/var/lib/${unitValue(text, 'StateDirectory')}`);
    expect(flag('--milter')).toBe(`unix:/run/${unitValue(text, 'RuntimeDirectory')}/milter.sock`);
    expect(flag('--config')).toBe(`/etc/${unitValue(text, 'ConfigurationDirectory')}/trackmilter.toml`);
    // The socket group the example config names is one the service is a member of.
    const config = parseToml(unitTextExample()) as { milter?: { socket_group?: string } };
    expect(unitValues(text, 'SupplementaryGroups')).toEqual([config.milter?.socket_group]);
  });

  it('the readiness probe the units run ships in the package (package.json "files")', async () => {
    const pkg = JSON.parse(await fs.readFile(path.join(SYSTEMD_DIR, '..', 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('systemd');
    for (const unit of UNITS) expect(unitValue(unitText(unit), 'ExecStartPost')).toContain('/../../systemd/trackmilter-wait-ready.mjs');
    expect(existsSync(path.join(SYSTEMD_DIR, 'trackmilter-wait-ready.mjs'))).toBe(true);
  });
});

function unitTextExample(): string {
  return unitText('trackmilter.toml.example');
}
