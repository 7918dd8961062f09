// The redirector's request limits come from the config file: a daemon started with tight [http] limits
// must apply exactly those, not the built-in defaults (8 KB URL, 16 KB head, 10 s, 5 s).
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BUILT, DaemonProcess, TempDirs } from './helpers/processes.js';
import { rawExchange } from './helpers/traffic.js';

const LIMITS = {
  max_url_bytes: 512,
  max_header_bytes: 2048,
  headers_timeout_ms: 600,
  keep_alive_timeout_ms: 400,
};

describe.skipIf(!CLI_BUILT)('configured HTTP limits', () => {
  const dirs = new TempDirs();
  let daemon: DaemonProcess;

  beforeAll(async () => {
    const configToml = `[http]\n${Object.entries(LIMITS)
      .map(([key, value]) => `${key} = ${value}`)
      .join('\n')}\n`;
    daemon = await DaemonProcess.start({ role: 'serve', dataDir: path.join(await dirs.make(), 'data'), configToml });
  });
  afterAll(async () => {
    await daemon?.stop();
    await dirs.cleanup();
  });

  const get = (target: string, extra = ''): string => `GET ${target} HTTP/1.1\r\nHost: ${daemon.httpAddress}\r\n${extra}Connection: close\r\n\r\n`;

  it('http.max_url_bytes: a target just over it is a 414, one under it is served (404 for a junk token)', async () => {
    const over = `/c/${'A'.repeat(LIMITS.max_url_bytes)}`;
    const under = `/c/${'A'.repeat(LIMITS.max_url_bytes - 10)}`;
    expect((await rawExchange(daemon.httpPort, get(over))).headLines[0]).toMatch(/^HTTP\/1\.1 414 /);
    expect((await rawExchange(daemon.httpPort, get(under))).headLines[0]).toMatch(/^HTTP\/1\.1 404 /);
  });

  it('http.max_header_bytes: a head over it is a 431, one well under it is served', async () => {
    const big = `X-Filler: ${'v'.repeat(LIMITS.max_header_bytes)}\r\n`;
    const small = `X-Filler: ${'v'.repeat(LIMITS.max_header_bytes / 4)}\r\n`;
    expect((await rawExchange(daemon.httpPort, get('/c/AAAA', big))).headLines[0]).toMatch(/^HTTP\/1\.1 431 /);
    expect((await rawExchange(daemon.httpPort, get('/c/AAAA', small))).headLines[0]).toMatch(/^HTTP\/1\.1 404 /);
  });

  it('http.headers_timeout_ms: half a request line is cut off after it (plus one 1 s check), not after the default 10 s', async () => {
    const started = Date.now();
    const { head } = await rawExchange(daemon.httpPort, 'GET /c/AAAA', 8_000);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(LIMITS.headers_timeout_ms - 50);
    expect(elapsed).toBeLessThan(4_000);
    if (head !== '') expect(head).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('http.keep_alive_timeout_ms: an idle keep-alive connection is closed after it, not after the default 5 s', async () => {
    const started = Date.now();
    const { headLines } = await rawExchange(daemon.httpPort, `GET /healthz HTTP/1.1\r\nHost: ${daemon.httpAddress}\r\n\r\n`, 4_500);
    expect(headLines[0]).toMatch(/^HTTP\/1\.1 200 /);
    expect(Date.now() - started).toBeGreaterThanOrEqual(LIMITS.keep_alive_timeout_ms - 50);
  });
});
