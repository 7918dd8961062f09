// OpenDKIM's miltertest as an outside opinion on the real daemon: each Lua script drives one flow
// and calls error() on anything unexpected, which makes miltertest exit non-zero.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIN, ServeProcess } from '../helpers/cli-process.js';

const MILTERTEST = '/usr/bin/miltertest';
const HERE = path.dirname(fileURLToPath(import.meta.url));

const missing = !existsSync(MILTERTEST) ? `${MILTERTEST} is not installed` : !existsSync(MAIN) ? `${MAIN} is missing (npm run build)` : '';
if (missing) console.log(`test/miltertest: ${missing}; skipping the miltertest scripts`);

function miltertest(script: string, defines: Record<string, string>): Promise<{ code: number | null; signal: string | null; output: string }> {
  const args = [...Object.entries(defines).flatMap(([k, v]) => ['-D', `${k}=${v}`]), '-s', path.join(HERE, script)];
  return new Promise((resolve, reject) => {
    const child = spawn(MILTERTEST, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}

describe.skipIf(missing !== '')('miltertest against trackmilter serve', () => {
  let daemon: ServeProcess;
  beforeAll(async () => {
    daemon = await ServeProcess.start();
  });
  afterAll(async () => {
    await daemon?.kill();
  });

  it.each([
    ['negotiate-header.lua', 'negotiate-header: ok'],
    ['body-replaced.lua', 'body-replaced: ok'],
    ['abort-quit.lua', 'abort-quit: ok'],
  ])('%s passes', async (script, okLine) => {
    const res = await miltertest(script, { port: String(daemon.milterPort), header: 'X-Mailer-Info-Extra' });
    expect(res.output).toContain(okLine);
    expect(res.signal).toBeNull();
    expect(res.code, res.output).toBe(0);
  });

  it('a script that expects a header the milter does not add fails (the harness can see a failure)', async () => {
    const res = await miltertest('negotiate-header.lua', { port: String(daemon.milterPort), header: 'X-Not-Added-By-Us' });
    expect(res.signal).toBeNull();
    expect(res.code).not.toBe(0);
    expect(res.output).not.toContain('negotiate-header: ok');
  });

  it('the daemon logged one message line per completed message and is still healthy', async () => {
    // negotiate-header: 2 messages (one in the negative control), body-replaced: 1, abort-quit: 2.
    await daemon.waitForLog('five message lines', () => daemon.logs.filter((l) => l.msg === 'message').length >= 5);
    const lines = daemon.logs.filter((l) => l.msg === 'message');
    expect(lines).toHaveLength(5);
    for (const l of lines) expect(l.outcome).toBe('modified');
    // body-replaced's one link was rewritten; abort-quit's second and third messages carry only their own bytes.
    expect(lines.map((l) => l.links)).toContain(1);
    expect(lines.map((l) => l.bodyBytes)).toEqual(expect.arrayContaining([Buffer.byteLength('second body\r\n'), Buffer.byteLength('third\r\n')]));
    expect(daemon.stray).toEqual([]);
  });
});
