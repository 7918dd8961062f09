// SIGHUP (`systemctl reload`) on a running `trackmilter serve`: what cannot be reloaded is logged and
// the daemon goes on with what it had; what can, is.
import { copyFile, mkdir, readFile, rename, rmdir, writeFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_BUILT, DaemonProcess, TempDirs } from './helpers/processes.js';
import { BROWSER_UA, buildNewsletter, pairClicks, readRewritten } from './helpers/newsletter.js';
import { browse, sendThroughMilter } from './helpers/traffic.js';
import { makeSelfSignedCert } from '../helpers/tls-cert.js';

let daemon: DaemonProcess | undefined;

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${daemon?.diagnostics() ?? ''}`);
    await sleep(25);
  }
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

/** A message through the milter and its first link clicked: one click event recorded. */
async function oneClick(daemon: DaemonProcess): Promise<void> {
  const newsletter = buildNewsletter();
  const result = await sendThroughMilter(daemon.milterPort, newsletter);
  const [first] = pairClicks(readRewritten(result.body!, daemon.baseUrl), newsletter.spec);
  expect((await browse(first!.link, { userAgent: BROWSER_UA })).status).toBe(302);
}

async function jsonlTypes(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { type: string }).type);
}

describe.skipIf(!CLI_BUILT)('SIGHUP on a running daemon', () => {
  const dirs = new TempDirs();
  afterAll(async () => {
    await daemon?.stop();
    await dirs.cleanup();
  });

  it('a garbage certificate: the daemon lives on with the old one and logs why; a good one then loads', async () => {
    const root = await dirs.make('tm-reload-');
    makeSelfSignedCert(root, 'one', 'one.test');
    makeSelfSignedCert(root, 'two', 'two.test');
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

  it('a JSONL file that cannot be reopened: the daemon lives on, logs why, and writes the file once it can', async () => {
    await daemon?.stop();
    const root = await dirs.make('tm-reopen-');
    const jsonl = path.join(root, 'events.jsonl');
    daemon = await DaemonProcess.start({
      role: 'serve',
      dataDir: path.join(root, 'data'),
      configToml: `[events]\njsonl_path = ${JSON.stringify(jsonl)}\njsonl_fsync = "always"\n`,
    });
    await oneClick(daemon);
    await until('the first click in the JSONL file', async () => (await jsonlTypes(jsonl)).includes('click'));

    // Rotated away, and something that is not a file (here a directory) now sits at the path.
    await rename(jsonl, `${jsonl}.1`);
    await mkdir(jsonl);
    daemon.signal('SIGHUP');
    await until('the failed reopen in the log', () => !daemon!.running || daemon!.logs.some((l) => l.code === 'EEVENTS_FILE_IO'));
    await sleep(200); // an unhandled rejection would end the process about now
    expect(daemon.running, daemon.diagnostics()).toBe(true);
    expect(daemon.logs.find((l) => l.code === 'EEVENTS_FILE_IO')!.level).toBe('error');
    expect(daemon.logs.filter((l) => l.msg === 'reloaded').at(-1)).toMatchObject({ complete: false });

    await oneClick(daemon); // recorded, and waiting in the outbox for the file
    await rmdir(jsonl);
    await until('the new JSONL file', async () => (await jsonlTypes(jsonl)).includes('click'), 20_000);
    expect(daemon.running).toBe(true);
  });
});
