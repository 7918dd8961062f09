// SIGHUP (`systemctl reload`) on a running `trackmilter serve`: what cannot be reloaded is logged and
// the daemon goes on with what it had; what can, is.
import { execFileSync } from 'node:child_process';
import { copyFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_BUILT, DaemonProcess, TempDirs } from './helpers/processes.js';

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** A self-signed certificate for `cn`: `<dir>/<name>.crt` and `<dir>/<name>.key`. */
function makeCert(dir: string, name: string, cn: string): void {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.crt`), '-days', '2', '-subj', `/CN=${cn}`,
  ], { stdio: 'ignore' });
}

/** /healthz over HTTPS on a fresh connection: its status and the CN of the certificate served. */
function healthz(port: number): Promise<{ status: number; cn: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false, agent: false }, (res) => {
      const cn = String((res.socket as TLSSocket).getPeerCertificate().subject.CN);
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cn }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(!CLI_BUILT)('SIGHUP on a running daemon', () => {
  const dirs = new TempDirs();
  let daemon: DaemonProcess | undefined;
  afterAll(async () => {
    await daemon?.stop();
    await dirs.cleanup();
  });

  it('a garbage certificate: the daemon lives on with the old one and logs why; a good one then loads', async () => {
    const root = await dirs.make('tm-reload-');
    makeCert(root, 'one', 'one.test');
    makeCert(root, 'two', 'two.test');
    const cert = path.join(root, 'live.crt');
    const key = path.join(root, 'live.key');
    await copyFile(path.join(root, 'one.crt'), cert);
    await copyFile(path.join(root, 'one.key'), key);
    daemon = await DaemonProcess.start({
      role: 'serve',
      dataDir: path.join(root, 'data'),
      configToml: `[http]\ntls_cert = ${JSON.stringify(cert)}\ntls_key = ${JSON.stringify(key)}\n`,
    });
    expect(await healthz(daemon.httpPort)).toEqual({ status: 200, cn: 'one.test' });

    // A certificate overwritten by garbage (or caught half-written by the reload).
    await writeFile(cert, 'not a certificate\n');
    daemon.signal('SIGHUP');
    await until('the failed reload in the log', () => !daemon!.running || daemon!.logs.some((l) => l.code === 'ETLS_RELOAD'));
    await sleep(200); // an unhandled rejection would end the process about now
    expect(daemon.running, daemon.diagnostics()).toBe(true);
    const failure = daemon.logs.find((l) => l.code === 'ETLS_RELOAD')!;
    expect(failure.level).toBe('error');
    expect(String(failure.err)).toContain(cert);
    expect(await healthz(daemon.httpPort)).toEqual({ status: 200, cn: 'one.test' });

    await copyFile(path.join(root, 'two.crt'), cert);
    await copyFile(path.join(root, 'two.key'), key);
    daemon.signal('SIGHUP');
    await until('the certificate reloaded', () => daemon!.logs.some((l) => l.msg === 'TLS certificate reloaded'));
    expect(await healthz(daemon.httpPort)).toEqual({ status: 200, cn: 'two.test' });
    expect(daemon.running).toBe(true);
  });
});
