// Stateless links across hosts: daemon A (`serve`) rewrites a message with links pointing at host B;
// B is `trackmilter redirector` in another process with nothing but a copy of A's key files. B must
// redirect every link to its original and record the clicks; a redirector with another key must not.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BUILT, DaemonProcess, TempDirs, cli, copyKeys, freePort } from './helpers/processes.js';
import { SEND, buildNewsletter, pairClicks, readRewritten, type ExpectedClick, type RewrittenNewsletter } from './helpers/newsletter.js';
import { browse, isOnePixelGif, sendThroughMilter } from './helpers/traffic.js';

describe.skipIf(!CLI_BUILT)('stateless links served by a separate redirector holding only the keys', () => {
  const dirs = new TempDirs();
  let milterHost: DaemonProcess;
  let redirectorHost: DaemonProcess | undefined;
  let portB: number;
  let dataB: string;
  let rewritten: RewrittenNewsletter;
  let clicks: ExpectedClick[];

  beforeAll(async () => {
    portB = await freePort();
    const dataA = path.join(await dirs.make(), 'data');
    milterHost = await DaemonProcess.start({
      role: 'serve',
      dataDir: dataA,
      configToml: `[tracking]\nmode = "stateless"\ndomain = "127.0.0.1:${portB}"\nscheme = "http"\n\n[http]\nfast_click_seconds = 0\n`,
    });
    const message = buildNewsletter();
    const result = await sendThroughMilter(milterHost.milterPort, message);
    if (!result.body) throw new Error(`no body from the milter; ${milterHost.diagnostics()}`);
    rewritten = readRewritten(result.body, `http://127.0.0.1:${portB}`);
    clicks = pairClicks(rewritten, message.spec);
    // A is no longer needed: B must work without it.
    await milterHost.stop();

    dataB = path.join(await dirs.make(), 'data');
    await copyKeys(dataA, dataB);
    // B flags clicks within ten minutes of delivery: all of this test's are, and only the token can say so.
    redirectorHost = await DaemonProcess.start({
      role: 'redirector',
      dataDir: dataB,
      httpPort: portB,
      configToml: '[http]\nfast_click_seconds = 600\n',
    });
  });
  afterAll(async () => {
    await milterHost?.stop();
    await redirectorHost?.stop();
    await dirs.cleanup();
  });

  it('B starts from the copied keys alone (private modes kept)', async () => {
    expect((await stat(path.join(dataB, 'keys'))).mode & 0o777).toBe(0o700);
    expect(rewritten.pixels).toHaveLength(1);
    expect(clicks.length).toBeGreaterThan(0);
  });

  it('B redirects every link to exactly its original URL and answers the pixel with the GIF', async () => {
    for (const click of clicks) {
      const answer = await browse(click.link);
      expect(answer.status, click.link).toBe(302);
      expect(answer.location, `${click.part}${click.position}`).toBe(click.original);
    }
    const pixel = await browse(rewritten.pixels[0]!);
    expect(pixel.status).toBe(200);
    expect(pixel.contentType).toBe('image/gif');
    expect(isOnePixelGif(pixel.body)).toBe(true);
  });

  it("B's report shows the clicks and the open, with who clicked from the link itself", async () => {
    const report = JSON.parse(await cli(['report', '--sendid', SEND.sendId, '--json', ...redirectorHost!.cliFlags])) as {
      all: { clicks: number; uniqueClicks: number; opens: number; links: Array<{ url: string; clicks: number }> };
    };
    expect(report.all).toMatchObject({ clicks: clicks.length, uniqueClicks: 1, opens: 1 });
    const events = (await cli(['events', '--sendid', SEND.sendId, ...redirectorHost!.cliFlags]))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const clickEvents = events.filter((e) => e.type === 'click');
    expect(clickEvents).toHaveLength(clicks.length);
    for (const click of clicks) {
      expect(clickEvents.find((e) => e.part === click.part && e.position === click.position)).toMatchObject({
        url: click.original,
        recipient: SEND.recipient,
        listId: SEND.listId,
        emailCode: SEND.emailCode,
        // The link name rides in the stateless token, so B's reports can group by it too.
        linkName: click.linkName,
        // So does the delivery time: B, without A's store, still sees a click that came too soon.
        machine: true,
        machineReason: expect.stringContaining('fast-click'),
      });
    }
  });

  it('a redirector with another key (a fresh data dir) on the same address answers 404 to every link', async () => {
    await redirectorHost!.stop();
    const otherData = path.join(await dirs.make(), 'data');
    redirectorHost = await DaemonProcess.start({ role: 'redirector', dataDir: otherData, httpPort: portB });
    for (const click of clicks) {
      const answer = await browse(click.link);
      expect(answer.status, click.link).toBe(404);
      expect(answer.location).toBeNull();
    }
    // Its pixel still answers (an image is never broken), but nothing is recorded for the send.
    expect((await browse(rewritten.pixels[0]!)).status).toBe(200);
    const report = JSON.parse(await cli(['report', '--sendid', SEND.sendId, '--json', ...redirectorHost.cliFlags])) as {
      all: { clicks: number; opens: number };
    };
    expect(report.all).toMatchObject({ clicks: 0, opens: 0 });
  });
});
