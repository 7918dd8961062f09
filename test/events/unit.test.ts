import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backoffDelay, EventsErrorCode, signWebhook, toEventJson, verifyWebhookSignature } from '../../src/events/index.js';
import { makeEvent } from './fixtures-core.js';

describe('event JSON', () => {
  it('has the documented shape for a click', () => {
    const event = makeEvent(2);
    expect(toEventJson(event)).toEqual({
      id: Buffer.from(event.id).toString('hex'),
      type: 'click',
      greenarrowType: 'engine_click',
      time: '2023-11-14T22:13:20.002Z',
      sendId: 'a102',
      listId: 'list7',
      recipient: 'r2@example.com',
      emailCode: 'code2',
      url: 'https://shop.example/p/2?q="x"\n',
      linkName: 'buy – now',
      position: 3,
      part: 'h',
      ip: '192.0.2.7',
      userAgent: 'Mozilla/5.0 (Ünïcode)',
      machine: false,
    });
  });

  it('marks a follow-up of a reclassified event, and only that', () => {
    const event = makeEvent(7);
    expect(toEventJson({ ...event, reclassified: true })).toMatchObject({ id: toEventJson(event).id, machine: true, reclassified: true });
    expect(toEventJson(event)).not.toHaveProperty('reclassified');
    expect(toEventJson({ ...event, reclassified: false })).not.toHaveProperty('reclassified');
  });

  it('carries machineReason and bounce and complaint details only when present, with GreenArrow names', () => {
    expect(toEventJson(makeEvent(7))).toMatchObject({ machine: true, machineReason: 'prefetch' });
    const hard = toEventJson(makeEvent(3));
    expect(hard).toMatchObject({
      type: 'bounce',
      greenarrowType: 'bounce_bad_address',
      status: '5.1.1',
      classification: 'hard',
      diagnostic: '550 no such user',
      reportingMta: 'mx.example',
    });
    expect(toEventJson(makeEvent(9))).toMatchObject({ type: 'bounce', greenarrowType: 'bounce_all', classification: 'soft' });
    expect(toEventJson(makeEvent(4))).toMatchObject({ type: 'complaint', greenarrowType: 'scomp', feedbackType: 'abuse' });
    // Details the report did not give (empty) are left out, as undefined ones are.
    expect(toEventJson({ ...makeEvent(3), remoteMta: '', action: 'failed' })).toMatchObject({ action: 'failed' });
    expect(toEventJson({ ...makeEvent(3), remoteMta: '' })).not.toHaveProperty('remoteMta');
    expect(toEventJson(makeEvent(5))).toMatchObject({ type: 'unsubscribe', greenarrowType: 'engine_unsub' });
    expect(toEventJson(makeEvent(1))).toMatchObject({ type: 'open', greenarrowType: 'engine_open' });
    expect(toEventJson(makeEvent(1))).not.toHaveProperty('status');
    expect(toEventJson(makeEvent(1))).not.toHaveProperty('machineReason');
  });

  it("reads details the store keeps in `details` as it reads top-level ones, complaints' sourceIp and reporter included", () => {
    const { status, classification, diagnostic, reportingMta, ...stored } = makeEvent(3);
    const details = { status: status!, classification: classification!, diagnostic: diagnostic!, reportingMta: reportingMta! };
    expect(toEventJson({ ...stored, details })).toEqual(toEventJson(makeEvent(3)));
    expect(toEventJson({ ...stored, details }).greenarrowType).toBe('bounce_bad_address');
    const complaint = { ...makeEvent(4), details: { feedbackType: 'abuse', sourceIp: '192.0.2.10', reporter: 'AOL SComp' } };
    expect(toEventJson(complaint)).toMatchObject({ greenarrowType: 'scomp', feedbackType: 'abuse', sourceIp: '192.0.2.10', reporter: 'AOL SComp' });
    expect(toEventJson(complaint)).not.toHaveProperty('details');
  });

  it('refuses events it cannot publish', () => {
    expect(() => toEventJson({ ...makeEvent(1), id: new Uint8Array(0) })).toThrow(expect.objectContaining({ code: EventsErrorCode.INVALID }));
    expect(() => toEventJson({ ...makeEvent(1), type: 'view' as never })).toThrow(expect.objectContaining({ code: EventsErrorCode.INVALID }));
  });
});

describe('webhook signature', () => {
  const body = '{"events":[{"id":"00"}]}';

  it('is v1= and the hex HMAC-SHA256 of timestamp "." body', () => {
    const expected = createHmac('sha256', 'sekrit').update(`1700000000.${body}`).digest('hex');
    expect(signWebhook('sekrit', 1_700_000_000, body)).toBe(`v1=${expected}`);
  });

  it('verifies within the tolerance and rejects tampering, other secrets and old timestamps', () => {
    const now = 1_700_000_000_000;
    const signature = signWebhook('sekrit', 1_700_000_000, body);
    const ok = { secret: 'sekrit', timestamp: '1700000000', signature, body, now };
    expect(verifyWebhookSignature(ok)).toBe(true);
    expect(verifyWebhookSignature({ ...ok, signature: `v1=${'0'.repeat(64)}, ${signature}` })).toBe(true);
    expect(verifyWebhookSignature({ ...ok, body: body.replace('00', '01') })).toBe(false);
    expect(verifyWebhookSignature({ ...ok, secret: 'other' })).toBe(false);
    expect(verifyWebhookSignature({ ...ok, timestamp: '1700000001' })).toBe(false);
    expect(verifyWebhookSignature({ ...ok, now: now + 301_000 })).toBe(false);
    expect(verifyWebhookSignature({ ...ok, signature: signature.slice(0, -2) })).toBe(false);
    expect(verifyWebhookSignature({ ...ok, signature: undefined })).toBe(false);
  });
});

describe('backoff', () => {
  it('grows exponentially to the cap, with half of each delay random', () => {
    const options = { baseMs: 100, maxMs: 1000 };
    expect([1, 2, 3, 4, 5, 50].map((a) => backoffDelay(a, options, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5, 50].map((a) => backoffDelay(a, options, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});
