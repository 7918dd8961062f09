import { afterEach, describe, expect, it } from 'vitest';
import { Cmd } from '../../src/milter/constants.js';
import { encodeEnvelope, encodeMacro } from '../../src/milter/commands.js';
import { POSTFIX_OFFER } from '../../src/milter/client.js';
import { RecordingFilter, readEom, startServer, type TestServer } from './support.js';
import { encodePacket } from '../../src/milter/codec.js';

describe('macro stages', () => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.close();
  });

  it("a stage's macros are those of its latest packet, as in libmilter (no merge with an earlier packet)", async () => {
    const filter = new RecordingFilter();
    s = await startServer(filter);
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
    const seen = filter.seen[0]!;
    expect(seen.macro('rcpt_addr')).toBe('two@example.net');
    expect(seen.macro('rcpt_mailer')).toBeUndefined();
    expect(seen.macro('mail_addr')).toBe('a@example.com');
  });
});
