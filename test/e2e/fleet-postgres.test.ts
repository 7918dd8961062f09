/**
 * A fleet on one PostgreSQL through a real Postfix: two `trackmilter serve` processes on one database
 * (test/app/helpers/fleet.ts), A's milter in a private Postfix relaying to smtp-sink. The newsletter
 * is delivered rewritten; every link of the delivered copy resolves through B's redirector to its
 * original (B never saw the message: the URL row and message record come from the database); `report`
 * from either host counts the clicks made through both; GreenArrow's own query, as the README prints
 * it, finds the open in the database.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from '../app/helpers/fleet.js';
import { SEND, buildNewsletter, messageData, pairClicks, readRewritten, type ExpectedClick, type RewrittenNewsletter } from '../app/helpers/newsletter.js';
import { CLI_BUILT, CLI_ENTRY, cli } from '../app/helpers/processes.js';
import { browse, isOnePixelGif } from '../app/helpers/traffic.js';
import { PROJECT_ROOT, PostfixLab, postfixLabUnavailableReason, type DeliveredMessage } from '../helpers/postfix-lab.js';
import { postgresBinaries } from '../helpers/postgres.js';
import { sendMessages } from '../helpers/smtp.js';

const binaries = postgresBinaries();
const unavailable =
  postfixLabUnavailableReason() ??
  ('missing' in binaries ? binaries.missing : undefined) ??
  (CLI_BUILT ? undefined : `${path.relative(PROJECT_ROOT, CLI_ENTRY)} is missing: run npm run build`);
if (unavailable) console.log(`test/e2e/fleet-postgres.test.ts: skipped: ${unavailable}`);

interface ReportJson {
  messages: number;
  all: { clicks: number; uniqueClicks: number; opens: number };
}

/** GreenArrow's example query for the opens of a send, exactly as the README shows it. */
function readmeOpensQuery(): string {
  const readme = readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!).find((sql) => /FROM clickthrough_clicks/.test(sql));
  if (!block) throw new Error('README.md has no ```sql block querying clickthrough_clicks');
  return block.trim().replace(/;$/, '');
}

describe.skipIf(unavailable !== undefined)('a fleet on one PostgreSQL through Postfix: A milters, B redirects', () => {
  let fleet: Fleet;
  let lab: PostfixLab;
  let delivered: DeliveredMessage;
  let rewritten: RewrittenNewsletter;
  let clicks: ExpectedClick[];
  /** Clicks made through A on top of every link clicked through B. */
  let clicksThroughA = 0;

  beforeAll(async () => {
    fleet = await startFleet();
    // tempfail: if A's milter fails, Postfix holds the mail rather than deliver it untracked.
    lab = await PostfixLab.start({ milter: fleet.hostA.milterSpec, defaultAction: 'tempfail' });
    const message = buildNewsletter();
    const [outcome] = await sendMessages(lab.smtpPort, [{ envelope: { from: SEND.sender, to: [SEND.recipient] }, data: messageData(message) }], {
      concurrency: 1,
    });
    expect(outcome?.accepted, JSON.stringify(outcome)).toBe(true);
    delivered = (await lab.waitForDeliveredMessages(1))[0]!;
    // smtp-sink drops every CR; the MIME reading wants the CRLF lines the message was sent with.
    const body = Buffer.from(delivered.body.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');
    rewritten = readRewritten(body, fleet.hostA.baseUrl);
    clicks = pairClicks(rewritten, message.spec);
  }, 180_000);

  afterAll(async () => {
    await lab?.stop();
    await fleet?.stop();
  });

  it('the message is delivered rewritten by A: every tracked link on A, one pixel', () => {
    expect(delivered.rcptTo).toEqual([SEND.recipient]);
    expect(delivered.header('Subject')).toEqual(['Autumn at the shop']);
    expect(delivered.header('X-Mailer-Info-Extra')).toHaveLength(1);
    expect(clicks.length).toBeGreaterThan(1);
    for (const click of clicks) expect(click.link.startsWith(`${fleet.hostA.baseUrl}/c/`), click.link).toBe(true);
    expect(rewritten.pixels).toHaveLength(1);
  });

  it("every link of the delivered message resolves through B's redirector; the pixel too", async () => {
    for (const click of clicks) {
      const answer = await browse(fleet.throughB(click.link));
      expect(answer.status, click.link).toBe(302);
      expect(answer.location, `${click.part}${click.position}`).toBe(click.original);
    }
    const pixel = await browse(fleet.throughB(rewritten.pixels[0]!));
    expect(pixel.status).toBe(200);
    expect(pixel.contentType).toBe('image/gif');
    expect(isOnePixelGif(pixel.body)).toBe(true);
    // The same person clicks the first two links again, through A this time.
    for (const click of clicks.slice(0, 2)) {
      const answer = await browse(click.link);
      expect(answer.status).toBe(302);
      expect(answer.location).toBe(click.original);
      clicksThroughA += 1;
    }
  });

  it('report from either host counts the clicks made through both, and the open', async () => {
    expect(clicksThroughA).toBe(2);
    for (const host of [fleet.hostA, fleet.hostB]) {
      const report = JSON.parse(await cli(['report', '--sendid', SEND.sendId, '--json', ...host.cliFlags])) as ReportJson;
      expect(report.messages).toBe(1);
      expect(report.all).toMatchObject({ clicks: clicks.length + clicksThroughA, uniqueClicks: 1, opens: 1 });
    }
  });

  it("GreenArrow's query from the README returns the open; its tables hold every click", async () => {
    const query = readmeOpensQuery();
    expect(query).toContain(`sendid = '${SEND.sendId}'`);
    const client = new pg.Client({ connectionString: fleet.databaseUrl });
    await client.connect();
    try {
      const opens = await client.query<Record<string, unknown>>(query);
      expect(opens.rows).toHaveLength(1);
      expect(opens.rows[0]).toMatchObject({
        emailaddress: SEND.recipient,
        email_code_text: SEND.emailCode,
        html_or_text: 'h',
        type: 'open',
        sendid: SEND.sendId,
      });
      expect(Math.abs(Number(opens.rows[0]!.clicktime) - Date.now() / 1000)).toBeLessThan(600);
      const clickRows = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM clickthrough_clicks c JOIN clickthrough_urls u ON u.id = c.urlid WHERE u.sendid = $1 AND u.url <> ''`,
        [SEND.sendId],
      );
      expect(Number(clickRows.rows[0]!.n)).toBe(clicks.length + clicksThroughA);
    } finally {
      await client.end();
    }
  });
});
