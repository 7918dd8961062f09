/**
 * Mail flowing into a daemon while something else is measured: a 40-link newsletter and a ~10 MB
 * HTML message to send, SMTP sessions sending one back to back, and a genuine click link of the
 * daemon to hit. Shared by the mixed stress scenario and bench:mixed.
 */
import { execFileSync } from 'node:child_process';
import { MilterClient } from '../../src/milter/client.js';
import { parseSocketSpec } from '../../src/milter/address.js';
import { splitMessage } from '../../src/mime/message-split.js';
import type { TrackmilterDaemon } from '../../test/helpers/daemon.js';
import { makeTestMessage } from '../../test/helpers/messages.js';
import { SmtpSession, type OutgoingMessage } from '../../test/helpers/smtp.js';
import { BIG_HTML_CONTROL_HEADERS, bigHtmlBody } from '../../test/helpers/big-html.js';
import { buildNewsletter, messageData } from '../../test/app/helpers/newsletter.js';
import { sharedPath } from '../../test/helpers/shared-dir.js';

const MAKE_NEWSLETTER = sharedPath('bench', 'make-newsletter.py');

/** The 40-link newsletter of bench:mta when ../shared is there, else our own test newsletter. */
export function newsletter(): OutgoingMessage {
  const envelope = { from: 'news@example.com', to: ['reader@example.net'] };
  if (MAKE_NEWSLETTER.present) return { envelope, data: execFileSync('python3', [MAKE_NEWSLETTER.path, '40'], { maxBuffer: 64 << 20 }) };
  return { envelope, data: messageData(buildNewsletter()) };
}

export function bigMessage(): OutgoingMessage {
  return makeTestMessage({
    id: 'big',
    body: bigHtmlBody(10_000_000, 1000),
    contentType: 'text/html; charset=us-ascii',
    extraHeaders: BIG_HTML_CONTROL_HEADERS,
    recipients: ['reader@example.net'],
  });
}

export interface Counts {
  accepted: number;
  refused: number;
}

/** Sessions sending `message` back to back until stopped, counting what Postfix took and refused. */
export function startSenders(port: number, message: OutgoingMessage, sessions: number): { counts(): Counts; stop(): Promise<void> } {
  let running = true;
  let accepted = 0;
  let refused = 0;
  const loops = Array.from({ length: sessions }, async () => {
    while (running) {
      const session = await SmtpSession.open(port);
      try {
        for (let n = 0; n < 20 && running; n += 1) {
          const outcome = await session.send(message);
          if (!running) break;
          if (outcome.accepted) accepted += 1;
          else refused += 1;
          if (!session.usable) break;
        }
      } finally {
        await session.quit().catch(() => session.destroy());
      }
    }
  });
  return {
    counts: () => ({ accepted, refused }),
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/**
 * Every click link of a newsletter sent straight through a milter to one recipient, in order (a new
 * message record each time: its own tokens). `httpPort`: where the daemon's links point.
 */
export async function mintClickLinks(milterSpec: string, httpPort: number, recipient = 'reader@example.net'): Promise<string[]> {
  const client = await MilterClient.connect(parseSocketSpec(milterSpec));
  try {
    await client.negotiate();
    const { headers, body } = splitMessage(Buffer.from(newsletter().data));
    const result = await client.sendMessage({ from: 'news@example.com', recipients: [recipient], headers, body });
    // The parts are quoted-printable: soft line breaks out first (a token never holds '=').
    const text = (result.body?.toString('latin1') ?? '').replace(/=\r?\n/g, '');
    const links = [...text.matchAll(new RegExp(`http://127\\.0\\.0\\.1:${httpPort}/c/[A-Za-z0-9_~]+`, 'g'))].map((m) => m[0]);
    if (links.length === 0) throw new Error(`no click link in the rewritten newsletter (verdict ${result.verdict})`);
    return links;
  } finally {
    await client.quit();
  }
}

/** A genuine click link of the daemon: a newsletter straight through its milter, its first tracked link. */
export async function clickLink(daemon: TrackmilterDaemon): Promise<string> {
  const [link] = await mintClickLinks(daemon.milterSocket, daemon.httpPort);
  const answer = await fetch(link!, { redirect: 'manual' });
  if (answer.status !== 302) throw new Error(`${link} answers ${answer.status}, not a redirect`);
  return link!;
}
