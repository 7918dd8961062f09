import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedirectorServer } from '../../src/redirector/server.js';
import { MapResolver, MemorySink, startServer } from './fixtures.js';
import { makeSelfSignedCert } from '../helpers/tls-cert.js';

let dir: string;
let server: RedirectorServer | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'redirector-tls-'));
  makeSelfSignedCert(dir, 'one', 'one.test');
  makeSelfSignedCert(dir, 'two', 'two.test');
  copyFileSync(join(dir, 'one.crt'), join(dir, 'live.crt'));
  copyFileSync(join(dir, 'one.key'), join(dir, 'live.key'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** One HTTPS request on a fresh connection: status, Location and the certificate's CN. */
function get(port: number, path: string): Promise<{ status: number; location?: string; cn: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false }, (res) => {
      const cert = (res.socket as tls.TLSSocket).getPeerCertificate();
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, cn: String(cert.subject.CN) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTPS', () => {
  it('serves with the configured certificate and reloads a new one without a restart', async () => {
    const resolver = new MapResolver().add('click1', { kind: 'click', url: 'https://shop.example/x' });
    const sink = new MemorySink();
    server = await startServer({ resolver, events: sink, tls: { certFile: join(dir, 'live.crt'), keyFile: join(dir, 'live.key') } });
    expect(await get(server.port, '/c/click1')).toEqual({ status: 302, location: 'https://shop.example/x', cn: 'one.test' });

    copyFileSync(join(dir, 'two.crt'), join(dir, 'live.crt'));
    copyFileSync(join(dir, 'two.key'), join(dir, 'live.key'));
    await server.reloadTls();
    expect(await get(server.port, '/c/click1')).toMatchObject({ status: 302, cn: 'two.test' });
    expect(sink.events).toHaveLength(2);
  });

  it('keeps the old certificate when the new files do not load', async () => {
    copyFileSync(join(dir, 'one.crt'), join(dir, 'live.crt'));
    copyFileSync(join(dir, 'one.key'), join(dir, 'live.key'));
    server = await startServer({ tls: { certFile: join(dir, 'live.crt'), keyFile: join(dir, 'live.key') } });
    // a key that does not match the certificate, then a file that is not PEM at all
    copyFileSync(join(dir, 'two.key'), join(dir, 'live.key'));
    await expect(server.reloadTls()).rejects.toMatchObject({ code: 'ETLS_RELOAD' });
    writeFileSync(join(dir, 'live.crt'), 'not a certificate');
    await expect(server.reloadTls()).rejects.toMatchObject({ code: 'ETLS_RELOAD' });
    expect(await get(server.port, '/healthz')).toMatchObject({ status: 200, cn: 'one.test' });
  });

  it('answers on the fast front after the handshake and hands the connection to node:https mid-stream', async () => {
    copyFileSync(join(dir, 'one.crt'), join(dir, 'live.crt'));
    copyFileSync(join(dir, 'one.key'), join(dir, 'live.key'));
    const resolver = new MapResolver().add('click1', { kind: 'click', url: 'https://shop.example/x' });
    server = await startServer({ resolver, events: new MemorySink(), tls: { certFile: join(dir, 'live.crt'), keyFile: join(dir, 'live.key') } });
    const socket = tls.connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false });
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    const heads = async (count: number): Promise<string[]> => {
      while (received.split('\r\n\r\n').length - 1 < count) await sleep(5);
      return received.split('\r\n\r\n').slice(0, count);
    };
    const get = 'GET /c/click1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    socket.write(get);
    const [first] = await heads(1);
    expect(first).toMatch(/^HTTP\/1\.1 302 Found\r\n/);
    expect(first).not.toMatch(/\r\nKeep-Alive: /i); // the fast front's answer
    socket.write('POST /c/click1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\nhi' + get);
    const [, second, third] = await heads(3);
    expect(second).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n/);
    expect(third).toMatch(/^HTTP\/1\.1 302 Found\r\n[\s\S]*\r\nKeep-Alive: /i); // node:https from then on
    socket.destroy();
  });

  it('refuses to start with missing files and to reload without TLS', async () => {
    await expect(startServer({ tls: { certFile: join(dir, 'nope.crt'), keyFile: join(dir, 'nope.key') } })).rejects.toMatchObject({ code: 'ETLS' });
    server = await startServer();
    await expect(server.reloadTls()).rejects.toMatchObject({ code: 'ETLS_RELOAD' });
  });
});
