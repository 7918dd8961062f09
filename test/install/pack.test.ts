// The package as a user gets it: `npm pack` of the built project, `npm install -g` of the tarball into a
// private prefix (dependencies from the npm registry), then the installed `trackmilter` command:
// --version, --help on every command, the example config accepted, and `serve` answering /healthz,
// found ready by the systemd units' readiness probe, and exiting cleanly on SIGTERM.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort, pollUntil } from '../helpers/net.js';
import { PROJECT_ROOT } from '../helpers/postfix-lab.js';
import { readinessScript, SYSTEMD_DIR, trackmilterArgs, unitText } from './units.js';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string>; files: string[] };
const COMMANDS = [
  'serve',
  'redirector',
  'milter',
  'rewrite',
  'report',
  'dashboard',
  'events',
  'export',
  'bounce',
  'suppressions',
  'check-config',
  'keygen',
  'try',
];

const built = existsSync(path.join(PROJECT_ROOT, pkg.bin.trackmilter!));
if (!built) console.log(`test/install: ${pkg.bin.trackmilter} is missing (run npm run build); skipping the pack and install test`);

/** npm, run by the node running the tests (npm-cli.js beside it), or `npm` from PATH. */
function npmCommand(): string[] {
  const cli = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  return existsSync(cli) ? [process.execPath, cli] : ['npm'];
}

async function npm(args: string[], cwd: string, timeout = 120_000): Promise<string> {
  const [command, ...pre] = npmCommand();
  const { stdout } = await run(command!, [...pre, ...args], {
    cwd,
    timeout,
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  return stdout;
}

function healthz(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/healthz' }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe.skipIf(!built)('npm pack, npm install -g, run the installed trackmilter', () => {
  let tmp: string;
  let prefix: string;
  let bin: string;
  let packed: { filename: string; files: { path: string }[] };
  /** A clean environment: no project folders on any path, HOME and cwd outside the project. */
  let env: NodeJS.ProcessEnv;
  const children = new Set<ChildProcess>();

  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'trackmilter-install-'));
    prefix = path.join(tmp, 'prefix');
    // --ignore-scripts: pack what `npm run build` made (the test runs after it); no prepack hook rebuilds it here.
    const out = await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], PROJECT_ROOT);
    const info = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
    packed = info[0]!;
    const tarball = path.join(tmp, path.basename(packed.filename));
    // Dependencies from the registry (or npm's cache), as on a user's machine; no audit or funding
    // requests, cache first: the install is the slow part of this test.
    await npm(['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball], tmp, 180_000);
    bin = path.join(prefix, 'bin', 'trackmilter');
    env = { PATH: `${path.join(prefix, 'bin')}:${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`, HOME: tmp, LANG: 'C.UTF-8' };
  }, 240_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  async function trackmilter(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return run(bin, args, { cwd: tmp, env, timeout: 20_000 }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (err: Error & { code?: number; stdout?: string; stderr?: string }) => ({
        code: typeof err.code === 'number' ? err.code : -1,
        stdout: err.stdout ?? '',
        stderr: err.stderr ?? '',
      }),
    );
  }

  it('the tarball holds the built code, the examples and the units, and no tests or sources', () => {
    const files = packed.files.map((f) => f.path);
    for (const needed of [
      pkg.bin.trackmilter!,
      'package.json',
      'README.md',
      'postfix-examples/main.cf.example',
      'sendmail-examples/sendmail.mc',
      'systemd/trackmilter.service',
      'systemd/trackmilter-redirector.service',
      'systemd/trackmilter.toml.example',
      'systemd/trackmilter-wait-ready.mjs',
      // The dashboard's browser files, bundled at build time: the daemon serves them itself.
      'dist/dashboard/dashboard.js',
      'dist/dashboard/dashboard.css',
      'dist/dashboard/uPlot.min.css',
      'ranges/apple-mpp.txt',
      'ranges/microsoft.txt',
    ]) {
      expect(files, `${needed} in the tarball (package.json "files")`).toContain(needed);
    }
    expect(files.filter((f) => /^(src|test|bench|scripts)\//.test(f) || /\.ts$/.test(f))).toEqual([]);
  });

  it('trackmilter --version prints the package version', async () => {
    const result = await trackmilter(['--version']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout.trim()).toBe(pkg.version);
  });

  it('--help works for every command, and the command list names them all', async () => {
    const usage = await trackmilter(['--help']);
    expect(usage.code).toBe(0);
    for (const command of COMMANDS) {
      expect(usage.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
      const result = await trackmilter([command, '--help']);
      expect(result.code, `${command} --help: ${result.stderr}`).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: trackmilter ${command}\\b`));
    }
  });

  it("check-config accepts systemd/trackmilter.toml.example with the unit's flags", async () => {
    const args = trackmilterArgs(unitText('trackmilter.service'));
    args[args.indexOf('--config') + 1] = path.join(SYSTEMD_DIR, 'trackmilter.toml.example');
    const result = await trackmilter(['check-config', ...args]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^socket_group = "postfix"$/m);
  });

  it("serve from the installed copy: ready line, /healthz, the units' readiness probe, exit 0 on SIGTERM", async () => {
    const milterPort = await findFreePort();
    const httpPort = await findFreePort();
    const daemonArgs = ['--milter', `inet:127.0.0.1:${milterPort}`, '--http', `127.0.0.1:${httpPort}`, '--data', path.join(tmp, 'data')];
    const child = spawn(bin, ['serve', ...daemonArgs], { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    try {
      const ready = await pollUntil(
        'the ready line',
        () => {
          if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${stderr}${stdout}`);
          return stdout
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as Record<string, unknown>)
            .find((l) => l.msg === 'ready');
        },
        20_000,
      );
      expect(ready).toMatchObject({ version: pkg.version, role: 'serve', milter: `inet:127.0.0.1:${milterPort}` });

      const health = await healthz(httpPort);
      expect(health.status).toBe(200);
      expect(JSON.parse(health.body)).toMatchObject({ status: 'ok' });

      // The units' ExecStartPost, run as systemd would (its $$ unescaped, TRACKMILTER_ARGS in the
      // environment): it finds the probe through the installed `trackmilter` symlink and returns 0.
      for (const [unit, role] of [
        ['trackmilter.service', 'serve'],
        ['trackmilter-redirector.service', 'redirector'],
      ] as const) {
        const script = readinessScript(unitText(unit));
        expect(script).toContain(` ${role} $TRACKMILTER_ARGS`);
        const probe = await run('/bin/sh', ['-c', script], { cwd: tmp, env: { ...env, TRACKMILTER_ARGS: daemonArgs.join(' ') }, timeout: 20_000 });
        expect(probe.stdout).toMatch(/ready/);
      }
      // ... and fails, saying why, when nothing listens.
      const unusedPort = await findFreePort();
      const probeFile = path.join(prefix, 'lib', 'node_modules', 'trackmilter', 'systemd', 'trackmilter-wait-ready.mjs');
      const failed = await run(process.execPath, [probeFile, 'milter', '--milter', `inet:127.0.0.1:${unusedPort}`, '--timeout', '1'], { cwd: tmp, env }).then(
        () => ({ code: 0, stderr: '' }),
        (err: Error & { code?: number; stderr?: string }) => ({ code: err.code, stderr: err.stderr ?? '' }),
      );
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/not ready after 1 s \(ECONNREFUSED\)/);
    } finally {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const result = await exited;
      clearTimeout(timer);
      children.delete(child);
      expect(result, `serve did not stop cleanly on SIGTERM: ${stderr}`).toEqual({ code: 0, signal: null });
      expect(stdout).toMatch(/"msg":"stopped"/);
    }
  }, 60_000);

  it('the readiness probe also waits for a unix milter socket (trackmilter milter, as in the unit)', async () => {
    const socket = path.join(tmp, 'milter.sock');
    const args = ['--milter', `unix:${socket}`, '--data', path.join(tmp, 'data-milter')];
    const probeFile = path.join(prefix, 'lib', 'node_modules', 'trackmilter', 'systemd', 'trackmilter-wait-ready.mjs');
    // Started before the daemon: it keeps trying until the socket accepts connections.
    const probe = run(process.execPath, [probeFile, 'milter', ...args, '--timeout', '20'], { cwd: tmp, env });
    const child = spawn(bin, ['milter', ...args], { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const { stdout } = await probe;
      expect(stdout).toContain(`milter unix:${socket}`);
    } finally {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      expect(await exited).toBe(0);
      clearTimeout(timer);
      children.delete(child);
    }
  }, 30_000);
});
