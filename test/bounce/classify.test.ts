import { describe, expect, it } from 'vitest';
import { classify, greenArrowBounceType, greenArrowEventTypes, type BounceCategory, type Classification } from '../../src/bounce/index.js';

const TABLE: Array<[status: string, diagnostic: string, classification: Classification, category: BounceCategory]> = [
  // Specific enhanced codes decide alone.
  ['5.1.1', '550 5.1.1 user unknown', 'hard', 'bad-address'],
  ['5.1.1', '550 5.1.1 mailbox full', 'hard', 'bad-address'],
  ['5.1.2', '', 'hard', 'bad-domain'],
  ['5.1.3', '', 'hard', 'bad-address'],
  ['5.1.10', '', 'hard', 'bad-address'],
  ['5.1.7', '', 'soft', 'sender'],
  ['5.2.1', '', 'hard', 'inactive'],
  ['5.2.2', '552 5.2.2 user unknown', 'soft', 'mailbox-full'],
  ['5.2.3', '', 'soft', 'message-too-large'],
  ['5.3.4', '', 'soft', 'message-too-large'],
  ['5.4.4', '', 'hard', 'bad-domain'],
  ['5.4.6', '', 'soft', 'routing'],
  ['4.4.7', '', 'soft', 'expired'],
  ['5.4.7', 'delivery time expired', 'soft', 'expired'],
  ['5.5.1', '', 'soft', 'protocol'],
  ['5.6.1', '', 'soft', 'content'],
  ['5.7.2', '', 'soft', 'policy'],
  // 4.x.x is soft whatever the category.
  ['4.1.1', '', 'soft', 'bad-address'],
  ['4.2.2', '', 'soft', 'mailbox-full'],
  ['4.4.4', '', 'soft', 'bad-domain'],
  ['4.0.0', '426 connection timed out', 'soft', 'transient'],
  // Generic codes: the text decides.
  ['5.0.0', 'User unknown', 'hard', 'bad-address'],
  ['5.0.0', 'Mailbox is full', 'soft', 'mailbox-full'],
  ['5.0.0', 'over quota', 'soft', 'mailbox-full'],
  ['5.2.0', 'mailbox unavailable', 'hard', 'bad-address'],
  ['5.3.0', '553 5.3.0 <a@b>... Unknown E-Mail Address', 'hard', 'bad-address'],
  ['5.7.1', '550 5.7.1 Message rejected as spam', 'soft', 'policy'],
  ['5.7.1', '554 5.7.1 Service unavailable; Client host blocked using zen.spamhaus.org', 'soft', 'policy'],
  ['5.7.1', '550 5.7.1 Unknown user', 'hard', 'bad-address'],
  ['5.7.0', 'account has been disabled', 'hard', 'inactive'],
  ['5.0.0', 'Host or domain name not found', 'hard', 'bad-domain'],
  ['5.0.0', 'message virus infected', 'soft', 'content'],
  // Generic codes with nothing known in the text: the subject, else "other".
  ['5.1.0', 'Recipient rejected', 'hard', 'bad-address'],
  ['5.7.0', 'nope', 'soft', 'policy'],
  ['5.3.0', '', 'hard', 'other'],
  ['5.0.0', '', 'hard', 'other'],
  ['4.0.0', '', 'soft', 'other'],
  // No enhanced code: an SMTP reply code in the diagnostic gives the class.
  ['', '550 Requested action not taken: no such user here', 'hard', 'bad-address'],
  ['', '452 Requested action not taken: insufficient system storage', 'soft', 'mailbox-full'],
  ['', "554 delivery error: dd This user doesn't have a yahoo.com account", 'hard', 'other'],
  // No code at all: the text alone; nothing known is unknown.
  ['', 'DNS Error: Domain name not found', 'hard', 'bad-domain'],
  ['', 'Mailbox full', 'soft', 'mailbox-full'],
  ['', 'Delivery failed 10 attempts', 'unknown', 'other'],
  ['', '', 'unknown', 'other'],
  // An enhanced code in the diagnostic when Status is missing.
  ['', 'smtp; 550 5.1.1 bad mailbox', 'hard', 'bad-address'],
  // 2.x.x is success, never a bounce.
  ['2.0.0', '250 ok', 'unknown', 'other'],
];

describe('classify', () => {
  it.each(TABLE)('%s %j -> %s %s', (status, diagnostic, classification, category) => {
    expect(classify(status, diagnostic)).toEqual({ classification, category });
  });

  it('does not take version numbers or addresses for status codes', () => {
    expect(classify('', 'Microsoft SMTP Server id 15.1.669.7 host 10.152.1.72')).toEqual({ classification: 'unknown', category: 'other' });
  });
});

describe('GreenArrow names', () => {
  it('maps bounces, delays and complaints', () => {
    expect(greenArrowEventTypes({ type: 'bounce', classification: 'hard' })).toEqual(['bounce_all', 'bounce_bad_address']);
    expect(greenArrowEventTypes({ type: 'bounce', classification: 'soft' })).toEqual(['bounce_all']);
    expect(greenArrowEventTypes({ type: 'bounce', classification: 'unknown' })).toEqual(['bounce_all']);
    expect(greenArrowEventTypes({ type: 'delayed', classification: 'soft' })).toEqual([]);
    expect(greenArrowEventTypes({ type: 'complaint', classification: 'unknown' })).toEqual(['scomp']);
    expect([greenArrowBounceType('hard'), greenArrowBounceType('soft'), greenArrowBounceType('unknown')]).toEqual(['h', 's', 'o']);
  });
});
