// A fleet of two `serve` daemons (their own processes) on one PostgreSQL (a private cluster): a
// stateful link minted by A's milter resolves through B's redirector as through A's, and `report`
// from either host counts the clicks made through both. B has only A's signing keys, copied.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresBinaries, startPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { CLI_BUILT, DaemonProcess, TempDirs, cli, copyKeys, freePort } from './helpers/processes.js';
import { SEND, buildNewsletter, pairClicks, readRewritten, type ExpectedClick, type RewrittenNewsletter } from './helpers/newsletter.js';
import { browse, sendThroughMilter } from './helpers/traffic.js';

const binaries = postgresBinaries();
if ('missing' in binaries) console.warn(binaries.missing);

interface ReportJson {
  messages: number;
  all: { clicks: number; uniqueClicks: number; opens: number };
}

describe.skipIf(!CLI_BUILT || 'missing' in binaries)('a fleet on one PostgreSQL: two serve daemons', () => {
  const dirs = new TempDirs();
  let cluster: PostgresCluster;
  let hostA: DaemonProcess;
  let hostB: DaemonProcess;
  let rewritten: RewrittenNewsletter;
  let clicks: ExpectedClick[];

  beforeAll(async () => {
    cluster = await startPostgres();
    const url = cluster.url(await cluster.createDatabase());
    const portA = await freePort();
    const config = `[store]\nbackend = "postgres"\npostgres_url = "${url}"\n\n[tracking]\ndomain = "127.0.0.1:${portA}"\nscheme = "http"\n\n[http]\nfast_click_seconds = 0\n`;
    const dataA = path.join(await dirs.make(), 'data');
    hostA = await DaemonProcess.start({ role: 'serve', dataDir: dataA, httpPort: portA, configToml: config });
    const dataB = path.join(await dirs.make(), 'data');
    await copyKeys(dataA, dataB);
    hostB = await DaemonProcess.start({ role: 'serve', dataDir: dataB, configToml: config });

    const message = buildNewsletter();
    const result = await sendThroughMilter(hostA.milterPort, message);
    if (!result.body) throw new Error(`no body from A's milter; ${hostA.diagnostics()}`);
    rewritten = readRewritten(result.body, hostA.baseUrl);
    clicks = pairClicks(rewritten, message.spec);
  }, 120_000);
  afterAll(async () => {
    await hostA?.stop();
    await hostB?.stop();
    await cluster?.stop();
    await dirs.cleanup();
  });

  const throughB = (link: string): string => hostB.baseUrl + link.slice(hostA.baseUrl.length);

  it("every stateful link minted by A resolves through B's redirector, and through A's", async () => {
    expect(clicks.length).toBeGreaterThan(1);
    expect(rewritten.pixels).toHaveLength(1);
    // The first half through B, the rest through A: the report must count both.
    clicks.forEach((click) => expect(click.link.startsWith(hostA.baseUrl)).toBe(true));
    const half = Math.ceil(clicks.length / 2);
    for (const [i, click] of clicks.entries()) {
      const link = i < half ? throughB(click.link) : click.link;
      const answer = await browse(link);
      expect(answer.status, link).toBe(302);
      expect(answer.location, `${click.part}${click.position}`).toBe(click.original);
    }
    const pixel = await browse(throughB(rewritten.pixels[0]!));
    expect(pixel.status).toBe(200);
    expect(pixel.contentType).toBe('image/gif');
  });

  it('report from either host counts the clicks made through both, and the open', async () => {
    for (const host of [hostA, hostB]) {
      const report = JSON.parse(await cli(['report', '--sendid', SEND.sendId, '--json', ...host.cliFlags])) as ReportJson;
      expect(report.messages).toBe(1);
      expect(report.all).toMatchObject({ clicks: clicks.length, uniqueClicks: 1, opens: 1 });
    }
  });
});
