// Packets that arrive while the session waits for the filter's end of message wait in its queue. A
// client that sends a flood of them (any client that reaches the milter socket, or a fuzzer feeding a
// megabyte in one-byte reads) must not make draining that queue quadratic: with Array.prototype.shift
// the 300,000 packets below take about half a minute to drain, far past the test timeout; in linear
// time, well under a second. No clock is read: a quadratic drain fails by timing out.
import { describe, expect, it } from 'vitest';
import { FrameDecoder } from '../../src/milter/codec.js';
import type { FilterResult } from '../../src/milter/filter.js';
import { MilterSession } from '../../src/milter/session.js';
import { silentLogger } from '../../src/util/log.js';
import { FULL_OFFER, raw } from './helpers.js';

describe('the session queue', () => {
  it('drains 300,000 packets queued behind a slow end of message in linear time', { timeout: 15_000 }, async () => {
    let finishEom: (result: FilterResult) => void = () => undefined;
    const session = new MilterSession(
      { write: () => undefined, close: () => undefined },
      {
        filter: { endOfMessage: () => new Promise<FilterResult>((resolve) => (finishEom = resolve)) },
        logger: silentLogger,
        filterTimeoutMs: 60_000,
        failurePolicy: 'accept',
        maxMessageBytes: 1_000_000,
      },
    );
    const message = [raw.optneg(FULL_OFFER.version, FULL_OFFER.actions, 0), raw.connectInet('client.example', '192.0.2.1', 25), raw.helo('client.example')];
    message.push(raw.mail('a@example.com'), raw.rcpt('b@example.net'), raw.header('Subject', 'x'), raw.eoh(), raw.body('hello'), raw.eom());
    for (const packet of new FrameDecoder().push(Buffer.concat(message))) session.handle(packet);
    // End of message is now running; the next message's macros pile up behind it.
    const flood = new FrameDecoder().push(Buffer.concat(Array.from({ length: 300_000 }, (_, i) => raw.macro('M', { i: `Q${i}` }))));
    for (const packet of flood) session.handle(packet);
    expect(session.idle).toBe(false);
    finishEom({});
    await session.whenIdle();
    expect(session.idle).toBe(true);
  });
});
