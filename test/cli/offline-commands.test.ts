// The commands that work without a daemon: rewrite, check-config, keygen.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeToken, loadKeyring } from '../../src/tokens/index.js';
import { MAIN, runCli } from '../helpers/cli-process.js';

const MESSAGE = [
  'From: News <news@sender.example>',
  'To: reader@example.net',
  'Subject: offline',
  'X-GreenArrow-MailClass: a',
  'X-GreenArrow-InstanceID: 9',
  'MIME-Version: 1.0',
  'Content-Type: text/html; charset=us-ascii',
  '',
  '<html><body><a href="https://shop.example/a?x=1" data-msys-linkname="hero">A</a> <a href="mailto:x@example.com">m</a></body></html>',
  '',
].join('\n');

describe.skipIf(!existsSync(MAIN))('offline commands', () => {
  let dir: string;
  let data: string;
  let file: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tm-offline-'));
    data = path.join(dir, 'data');
    file = path.join(dir, 'm.eml');
    await writeFile(file, MESSAGE);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('rewrite --links: one row per tracked link, with part, original, a verifying new URL and the link name', async () => {
    const res = await runCli(['rewrite', file, '--links', '--data', data]);
    expect(res.code, res.stderr).toBe(0);
    const [header, ...rows] = res.stdout.trim().split('\n');
    expect(header).toBe('position\tpart\toriginal\tnew\tname');
    expect(rows).toHaveLength(1);
    const [position, part, original, newUrl, name] = rows[0]!.split('\t');
    expect([position, part, original, name]).toEqual(['1', 'h', 'https://shop.example/a?x=1', 'hero']);
    const token = /\/c\/([^?]+)\?x=1$/.exec(newUrl!)![1]!;
    expect(decodeToken(await loadKeyring(data), token)).toMatchObject({ ok: true, kind: 'stateful-click', position: 1, part: 'h' });
  });

  it('rewrite --links with the honeypot on: the hidden link first, position 0, under its link name', async () => {
    const config = path.join(dir, 'honeypot.toml');
    await writeFile(config, '[tracking]\nhoneypot = true\n');
    const res = await runCli(['rewrite', file, '--links', '--data', data, '--config', config]);
    expect(res.code, res.stderr).toBe(0);
    const rows = res.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((row) => row.split('\t'));
    expect(rows.map(([position, part, original, , name]) => [position, part, original, name])).toEqual([
      ['0', 'h', 'https://shop.example/a?x=1', 'trackmilter-honeypot'],
      ['1', 'h', 'https://shop.example/a?x=1', 'hero'],
    ]);
  });

  it('rewrite: prints the message with control headers gone, X-Mailer-Info-Extra added, line ends as in the file', async () => {
    const res = await runCli(['rewrite', file, '--data', data]);
    expect(res.code).toBe(0);
    expect(res.stdout).not.toMatch(/X-GreenArrow/i);
    expect(res.stdout).toMatch(/^X-Mailer-Info-Extra: \S/m);
    expect(res.stdout).not.toContain('\r\n');
    expect(res.stdout).toContain('href="mailto:x@example.com"');
    expect(res.stdout).not.toContain('data-msys-linkname');
  });

  it('rewrite: a message passed over says why on stderr and prints the message unchanged', async () => {
    const signed = path.join(dir, 'signed.eml');
    await writeFile(signed, `DKIM-Signature: v=1; d=sender.example\n${MESSAGE}`);
    const res = await runCli(['rewrite', signed, '--data', data]);
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/passed unchanged: dkim-signed/);
    expect(res.stdout).toContain('href="https://shop.example/a?x=1"');
  });

  it('check-config: prints the effective config as TOML, or every problem and exit 1', async () => {
    const good = await runCli(['check-config', '--http', '127.0.0.1:9999']);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/^\[http\]$/m);
    expect(good.stdout).toMatch(/^listen = "127\.0\.0\.1:9999"$/m);
    const bad = path.join(dir, 'bad.toml');
    await writeFile(bad, '[milter]\non_error = "shrug"\n[http]\nlisten = 8080\n');
    const res = await runCli(['check-config', '--config', bad]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('milter.on_error = "shrug"');
    expect(res.stderr).toContain('http.listen = 8080');
  });

  it('check-config: warns (stderr, exit 0) of old key names and of bounce addresses in the milter role', async () => {
    const file = path.join(dir, 'old-names.toml');
    await writeFile(file, '[events]\ntruncate_ip = true\n[bounce]\naddresses = "bounces@news.example"\n');
    const serve = await runCli(['check-config', '--config', file]);
    expect(serve.code).toBe(0);
    expect(serve.stderr).toMatch(/^warning: events\.truncate_ip is deprecated: it is read as http\.truncate_ip/m);
    expect(serve.stderr).not.toMatch(/bounce\.addresses/);
    expect(serve.stdout).toMatch(/^\[http\]$[^[]*^truncate_ip = true$/m);
    const milter = await runCli(['check-config', '--config', file, '--role', 'milter']);
    expect(milter.code).toBe(0);
    expect(milter.stderr).toMatch(/^warning: bounce\.addresses is set, but the milter role has no store/m);
    const wrongRole = await runCli(['check-config', '--role', 'mta']);
    expect(wrongRole.code).not.toBe(0);
    expect(wrongRole.stderr).toMatch(/--role is serve, milter or redirector/);
  });

  it('keygen: adds a current key (0600) and keeps the old one', async () => {
    const keys = path.join(data, 'keys');
    const before = (await readdir(keys)).filter((f) => f.endsWith('.key'));
    const res = await runCli(['keygen', '--data', data]);
    expect(res.code, res.stderr).toBe(0);
    const after = (await readdir(keys)).filter((f) => f.endsWith('.key'));
    expect(after.length).toBe(before.length + 1);
    for (const f of after) expect((await stat(path.join(keys, f))).mode & 0o777).toBe(0o600);
    const keyring = await loadKeyring(data);
    expect(keyring.kids.length).toBe(after.length);
    expect(res.stdout).toContain(`new signing key ${keyring.current.kid}`);
  });
});
