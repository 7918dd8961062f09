// The server on a unix socket: permissions, a stale socket file, and what it must never replace.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, lstat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MilterServer, type MilterServerOptions } from '../../src/milter/server.js';
import { MilterClient, POSTFIX_OFFER } from '../../src/milter/client.js';
import { CodedError } from '../../src/util/errors.js';
import { silentLogger } from '../../src/util/log.js';
import { RecordingFilter } from './helpers.js';

let dir: string;
let sock: string;
const servers: MilterServer[] = [];
const others: net.Server[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tm-sock-'));
  sock = path.join(dir, 'milter.sock');
});
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close(500);
  for (const o of others.splice(0)) await new Promise((r) => o.close(r));
  await rm(dir, { recursive: true, force: true });
});

function server(options: Partial<MilterServerOptions> = {}): MilterServer {
  const s = new MilterServer({
    listen: { kind: 'unix', path: sock },
    filter: new RecordingFilter(() => ({ headerChanges: [{ op: 'add', name: 'X-Unix', value: 'yes' }] })),
    logger: silentLogger,
    filterTimeoutMs: 5000,
    failurePolicy: 'accept',
    maxMessageBytes: 1 << 20,
    ...options,
  });
  servers.push(s);
  return s;
}

async function listenError(s: MilterServer): Promise<CodedError> {
  const err = await s.listen().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CodedError);
  return err as CodedError;
}

async function roundTrip(): Promise<void> {
  const c = await MilterClient.connect({ kind: 'unix', path: sock });
  await c.negotiate(POSTFIX_OFFER);
  const r = await c.sendMessage({ from: 'a@x', recipients: ['b@y'], headers: [], body: Buffer.from('hi\r\n') });
  expect(r.verdict).toBe('c');
  expect(r.headerChanges).toEqual([{ op: 'add', name: 'X-Unix', value: 'yes' }]);
  await c.quit();
}

function canConnect(p: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(p);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

describe('unix socket listener', () => {
  it.each([0o660, 0o600, 0o666])('serves on the path with socketMode %o, and removes the file on close', async (mode) => {
    const s = server({ socketMode: mode });
    await s.listen();
    const st = await stat(sock);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(mode);
    expect(s.address).toEqual({ kind: 'unix', path: sock });
    await roundTrip();
    servers.splice(servers.indexOf(s), 1);
    await s.close(500);
    await expect(lstat(sock)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('sets the group when socketGroup is given (our own gid)', async () => {
    const gid = process.getgid!();
    const s = server({ socketMode: 0o660, socketGroup: gid });
    await s.listen();
    expect((await stat(sock)).gid).toBe(gid);
  });

  it('an unknown group name is a coded error', async () => {
    const err = await listenError(server({ socketGroup: 'no-such-group-trackmilter-test' }));
    expect(err.code).toBe('ESOCKET_GROUP');
  });

  // Regression: a failed chmod/chown used to leave the listener open.
  it('a listen() that fails on permissions leaves nothing listening, and no socket file', async () => {
    const s = server({ socketGroup: 'no-such-group-trackmilter-test' });
    await listenError(s);
    expect(await canConnect(sock)).toBe(false);
    await expect(lstat(sock)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('replaces a stale socket file left by a process that died', async () => {
    // A child binds the path and is killed: the socket file stays, nobody listens.
    const script = `require('net').createServer().listen(${JSON.stringify(sock)}, () => process.kill(process.pid, 'SIGKILL'))`;
    try {
      execFileSync(process.execPath, ['-e', script], { stdio: 'ignore' });
    } catch {
      // killed by SIGKILL, as intended
    }
    expect((await lstat(sock)).isSocket()).toBe(true);
    expect(await canConnect(sock)).toBe(false);
    const s = server({ socketMode: 0o660 });
    await s.listen();
    await roundTrip();
  });

  it('refuses a regular file at the path, and leaves it alone', async () => {
    await writeFile(sock, 'precious data');
    const err = await listenError(server());
    expect(err.code).toBe('ELISTEN');
    expect(err.message).toContain(sock);
    expect(await readFile(sock, 'utf8')).toBe('precious data');
  });

  it('refuses a directory at the path', async () => {
    await mkdir(sock);
    const err = await listenError(server());
    expect(err.code).toBe('ELISTEN');
    expect((await stat(sock)).isDirectory()).toBe(true);
  });

  it('refuses a socket a live process listens on, and leaves that process serving', async () => {
    const live = net.createServer((c) => {
      c.on('error', () => undefined); // the refused server's probe hangs up at once
      c.end('alive\n');
    });
    others.push(live);
    await new Promise<void>((r) => live.listen(sock, r));
    const err = await listenError(server());
    expect(err.code).toBe('ELISTEN');
    expect(err.message).toContain(sock);
    const reply = await new Promise<string>((resolve, reject) => {
      const c = net.connect(sock);
      let text = '';
      c.on('data', (d) => (text += d.toString()));
      c.on('end', () => resolve(text));
      c.on('error', reject);
    });
    expect(reply).toBe('alive\n');
  });

  it('a second MilterServer on the same path is refused while the first runs', async () => {
    const first = server();
    await first.listen();
    const err = await listenError(server());
    expect(err.code).toBe('ELISTEN');
    await roundTrip();
  });
});
