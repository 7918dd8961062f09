// A fleet of two `serve` daemons (their own processes) on one PostgreSQL (a private cluster): a
// stateful link minted by A's milter resolves through B's redirector as through A's, and `report`
// from either host counts the clicks made through both. B has only A's signing keys, copied.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresBinaries } from '../helpers/postgres.js';
import { startFleet, type Fleet } from './helpers/fleet.js';
import { CLI_BUILT, cli, type DaemonProcess } from './helpers/processes.js';
import { SEND, buildNewsletter, pairClicks, readRewritten, type ExpectedClick, type RewrittenNewsletter } from './helpers/newsletter.js';
import { browse, sendThroughMilter } from './helpers/traffic.js';

const binaries = postgresBinaries();
if ('missing' in binaries) console.warn(binaries.missing);

interface ReportJson {
  messages: number;
  all: { clicks: number; uniqueClicks: number; opens: number };
}

describe.skipIf(!CLI_BUILT || 'missing' in binaries)('a fleet on one PostgreSQL: two serve daemons', () => {
  let fleet: Fleet;
  let hostA: DaemonProcess;
  let hostB: DaemonProcess;
  let rewritten: RewrittenNewsletter;
  let clicks: ExpectedClick[];

  beforeAll(async () => {
    fleet = await startFleet();
    ({ hostA, hostB } = fleet);

    const message = buildNewsletter();
    const result = await sendThroughMilter(hostA.milterPort, message);
    if (!result.body) throw new Error(`no body from A's milter; ${hostA.diagnostics()}`);
    rewritten = readRewritten(result.body, hostA.baseUrl);
    clicks = pairClicks(rewritten, message.spec);
  }, 120_000);
  afterAll(async () => {
    await fleet?.stop();
  });

  it("every stateful link minted by A resolves through B's redirector, and through A's", async () => {
    expect(clicks.length).toBeGreaterThan(1);
    expect(rewritten.pixels).toHaveLength(1);
    // The first half through B, the rest through A: the report must count both.
    clicks.forEach((click) => expect(click.link.startsWith(hostA.baseUrl)).toBe(true));
    const half = Math.ceil(clicks.length / 2);
    for (const [i, click] of clicks.entries()) {
      const link = i < half ? fleet.throughB(click.link) : click.link;
      const answer = await browse(link);
      expect(answer.status, link).toBe(302);
      expect(answer.location, `${click.part}${click.position}`).toBe(click.original);
    }
    const pixel = await browse(fleet.throughB(rewritten.pixels[0]!));
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
