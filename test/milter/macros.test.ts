import { afterEach, describe, expect, it } from 'vitest';
import { Cmd } from '../../src/milter/constants.js';
import { encodeEnvelope, encodeMacro } from '../../src/milter/commands.js';
import { POSTFIX_OFFER } from '../../src/milter/client.js';
import { readEom, startServer, type TestServer } from './helpers.js';
import { encodePacket } from '../../src/milter/codec.js';

describe('macro stages', () => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.close();
  });

  it("a stage's macros are those of its latest packet, as in libmilter (no merge with an earlier packet)", async () => {
    const seen: Record<string, string | undefined> = {};
    s = await startServer({
      endOfMessage(ctx) {
        for (const name of ['rcpt_addr', 'rcpt_mailer', 'mail_addr']) seen[name] = ctx.macro(name);
        return {};
      },
    });
    const c = await s.connect();
    await c.negotiate(POSTFIX_OFFER);
    c.send(encodeMacro(Cmd.MAIL, { mail_addr: 'a@example.com' }));
    c.send(encodeEnvelope(Cmd.MAIL, { address: 'a@example.com', args: [] }));
    c.send(encodeMacro(Cmd.RCPT, { rcpt_addr: 'one@example.net', rcpt_mailer: 'smtp' }));
    c.send(encodeEnvelope(Cmd.RCPT, { address: 'one@example.net', args: [] }));
    c.send(encodeMacro(Cmd.RCPT, { rcpt_addr: 'two@example.net' }));
    c.send(encodeEnvelope(Cmd.RCPT, { address: 'two@example.net', args: [] }));
    c.send(encodePacket(Cmd.BODYEOB));
    await readEom(c);
    expect(seen).toEqual({ rcpt_addr: 'two@example.net', rcpt_mailer: undefined, mail_addr: 'a@example.com' });
  });
});
