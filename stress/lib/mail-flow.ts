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

/** A genuine click link of the daemon: a newsletter straight through its milter, its first tracked link. */
export async function clickLink(daemon: TrackmilterDaemon): Promise<string> {
  const client = await MilterClient.connect(parseSocketSpec(daemon.milterSocket));
  try {
    await client.negotiate();
    const { headers, body } = splitMessage(Buffer.from(newsletter().data));
    const result = await client.sendMessage({ from: 'news@example.com', recipients: ['reader@example.net'], headers, body });
    // The parts are quoted-printable: soft line breaks out first (a token never holds '=').
    const text = (result.body?.toString('latin1') ?? '').replace(/=\r?\n/g, '');
    const link = new RegExp(`http://127\\.0\\.0\\.1:${daemon.httpPort}/c/[A-Za-z0-9_~]+`).exec(text)?.[0];
    if (!link) throw new Error(`no click link in the rewritten newsletter (verdict ${result.verdict})`);
    const answer = await fetch(link, { redirect: 'manual' });
    if (answer.status !== 302) throw new Error(`${link} answers ${answer.status}, not a redirect`);
    return link;
  } finally {
    await client.quit();
  }
}
