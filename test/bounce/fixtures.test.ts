/** Our own fixtures: the report shapes the corpus lacks, and the inputs that must not be taken as ours. */
import { describe, expect, it } from 'vitest';
import { encodeInfoHeader } from '../../src/tokens/index.js';
import { encodeQuotedPrintable } from '../../src/mime/transfer.js';
import { FIELD_CAPS, inspectReport, parseReport, type BounceResult } from '../../src/bounce/index.js';
import { fixtureWithHeader, foldedValue, identity, NOW, otherKeys, ourKeys, readFixture } from './helpers.js';

function parse(raw: Buffer | string): BounceResult {
  return parseReport(Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'utf8'), ourKeys, { now: NOW });
}

function onlyBounce(result: BounceResult) {
  if (result.kind !== 'bounce') throw new Error(`expected a bounce, got ${JSON.stringify(result)}`);
  expect(result.events).toHaveLength(1);
  return result.events[0]!;
}

const signed = identity('nobody@sink.example');

describe("Postfix's own DSN (bounce(8))", () => {
  it('returning the whole message (message/rfc822)', () => {
    const event = onlyBounce(parse(fixtureWithHeader('postfix-dsn.eml', signed)));
    expect(event).toEqual({
      type: 'bounce',
      time: NOW,
      sendId: 'a100525',
      listId: 'list-7',
      recipient: 'nobody@sink.example',
      emailCode: 'ec-42',
      reportedRecipient: 'nobody@sink.example',
      status: '5.1.1',
      action: 'failed',
      diagnostic: '550 5.1.1 <nobody@sink.example>: Recipient address rejected: User unknown in local recipient table',
      reportingMta: 'mx.sender.example',
      remoteMta: 'sink.example',
      arrivalDate: 'Mon, 10 Jun 2024 09:00:00 +0000 (UTC)',
      classification: 'hard',
      category: 'bad-address',
      source: 'dsn',
      kid: 1,
    });
  });

  it('returning headers only (text/rfc822-headers)', () => {
    const event = onlyBounce(parse(fixtureWithHeader('postfix-dsn-headers-only.eml', identity('full@sink.example'))));
    expect(event).toMatchObject({
      recipient: 'full@sink.example',
      status: '5.2.2',
      classification: 'soft',
      category: 'mailbox-full',
      diagnostic: '552 5.2.2 Mailbox full',
    });
  });

  it('reads the same with CRLF line ends, and with CRLF and LF mixed', () => {
    const lf = fixtureWithHeader('postfix-dsn.eml', signed).toString('latin1');
    const expected = parse(lf);
    expect(parse(lf.replace(/\n/g, '\r\n'))).toEqual(expected);
    // Every other line CRLF, as when a report passes through tools that disagree.
    let count = 0;
    const mixed = lf.replace(/\n/g, () => (count++ % 2 === 0 ? '\r\n' : '\n'));
    expect(parse(mixed)).toEqual(expected);
  });

  it('without our header is not ours; with a header signed by another key neither', () => {
    expect(parse(fixtureWithHeader('postfix-dsn.eml', null))).toEqual({ kind: 'not-ours', reason: 'no-info-header' });
    expect(parse(fixtureWithHeader('postfix-dsn.eml', signed, otherKeys))).toEqual({ kind: 'not-ours', reason: 'info-header-invalid', detail: 'bad-mac' });
  });

  it('ignores our header on the bounce itself: it would name the bounce recipient', () => {
    const text = fixtureWithHeader('postfix-dsn.eml', null).toString('latin1');
    const stamped = `X-Mailer-Info-Extra: ${encodeInfoHeader(ourKeys, identity('bounces@sender.example'))}\n${text}`;
    expect(parse(stamped)).toEqual({ kind: 'not-ours', reason: 'no-info-header' });
  });
});

describe('a multi-recipient DSN with one failed and one delayed', () => {
  it('gives the failure as a bounce and the delay alongside, both named from the report', () => {
    // Sent to two recipients, so the header carries no recipient.
    const result = parse(fixtureWithHeader('multi-recipient-failed-and-delayed.eml', identity('')));
    expect(result.kind).toBe('bounce');
    if (result.kind !== 'bounce') return;
    expect(result.events).toHaveLength(1);
    expect(result.events[0]).toMatchObject({
      type: 'bounce',
      recipient: 'gone@example.org',
      reportedRecipient: 'gone@example.org',
      action: 'failed',
      status: '5.1.1',
      classification: 'hard',
      category: 'bad-address',
      reportingMta: 'relay.example.org',
      remoteMta: 'mx.example.org',
      sendId: 'a100525',
    });
    expect(result.delayed).toHaveLength(1);
    expect(result.delayed[0]).toMatchObject({
      type: 'delayed',
      recipient: 'busy@example.org',
      action: 'delayed',
      status: '4.2.2',
      classification: 'soft',
      category: 'mailbox-full',
      diagnostic: '452 4.2.2 <busy@example.org>... Over quota',
    });
  });

  it('gives kind delayed when nothing failed yet', () => {
    const text = fixtureWithHeader('multi-recipient-failed-and-delayed.eml', identity('')).toString('latin1');
    const onlyDelayed = text.replace(/Final-Recipient: RFC822; gone@example.org[\s\S]*?\n\n/, '');
    const result = parse(onlyDelayed);
    expect(result.kind).toBe('delayed');
    if (result.kind === 'delayed') expect(result.events.map((e) => e.recipient)).toEqual(['busy@example.org']);
  });

  it('is not a report when every recipient was delivered (a success DSN)', () => {
    const text = fixtureWithHeader('postfix-dsn.eml', signed).toString('latin1');
    const delivered = text.replace('Action: failed', 'Action: delivered').replace('Status: 5.1.1', 'Status: 2.0.0');
    expect(parse(delivered)).toEqual({ kind: 'not-a-report', reason: 'no-failed-recipients' });
  });
});

describe('ARF complaint', () => {
  it('gives a complaint with the feedback fields', () => {
    const result = parse(fixtureWithHeader('arf-complaint.eml', identity('angry@mailbox.example')));
    expect(result).toEqual({
      kind: 'complaint',
      events: [
        {
          type: 'complaint',
          time: NOW,
          sendId: 'a100525',
          listId: 'list-7',
          recipient: 'angry@mailbox.example',
          emailCode: 'ec-42',
          reportedRecipient: 'angry@mailbox.example',
          status: '',
          action: '',
          diagnostic: '',
          reportingMta: 'mail.mailbox.example',
          remoteMta: '',
          arrivalDate: 'Thu, 13 Jun 2024 09:58:00 +0000',
          classification: 'unknown',
          category: 'complaint',
          source: 'arf',
          kid: 1,
          feedbackType: 'abuse',
          userAgent: 'SomeGenerator/1.0',
          sourceIp: '192.0.2.10',
          originalMailFrom: 'bounces@sender.example',
        },
      ],
    });
    expect(inspectReport(fixtureWithHeader('arf-complaint.eml', null)).feedback).toMatchObject({
      version: '1',
      reportedDomain: 'sender.example',
      originalRcptTo: ['angry@mailbox.example'],
    });
  });

  it('an auth-failure report (RFC 6591) is not a complaint', () => {
    const text = fixtureWithHeader('arf-complaint.eml', identity('angry@mailbox.example'))
      .toString('latin1')
      .replace('Feedback-Type: abuse', 'Feedback-Type: auth-failure');
    expect(parse(text)).toEqual({ kind: 'not-a-report', reason: 'not-a-complaint', detail: 'auth-failure' });
  });
});

describe('non-standard bounces that quote the original headers', () => {
  it('an Exchange NDR, quoted-printable, headers quoted in the text', () => {
    const event = onlyBounce(parse(fixtureWithHeader('exchange-ndr.eml', identity('jane.doe@corp.example'))));
    expect(event).toMatchObject({
      recipient: 'jane.doe@corp.example',
      reportedRecipient: 'jane.doe@corp.example',
      status: '5.1.1',
      action: '',
      diagnostic: 'jane.doe@corp.example #550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##',
      reportingMta: 'EXCH01.corp.example',
      classification: 'hard',
      category: 'bad-address',
      source: 'quoted-headers',
    });
  });

  it('a qmail bounce ("Below this line is a copy of the message")', () => {
    const event = onlyBounce(parse(fixtureWithHeader('qmail-bounce.eml', identity('jdoe@example.net'))));
    expect(event).toMatchObject({
      recipient: 'jdoe@example.net',
      reportedRecipient: 'jdoe@example.net',
      status: '5.1.1',
      classification: 'hard',
      category: 'bad-address',
    });
    expect(event.diagnostic).toBe('<jdoe@example.net>: Sorry, no mailbox here by that name. (#5.1.1)');
  });

  it('an auto-reply quoting our header is not a report', () => {
    expect(parse(fixtureWithHeader('auto-reply.eml', identity('pat@example.com')))).toEqual({ kind: 'not-a-report', reason: 'no-failure-notice' });
  });

  it('an ordinary message is not a report', () => {
    expect(parse('From: a@example.com\nTo: b@example.com\nSubject: hi\n\nJust saying hello.\n')).toEqual({ kind: 'not-a-report', reason: 'no-failure-notice' });
  });
});

/** A DSN whose returned part is built by the test, so its encoding can vary. */
function dsnReturning(partHeaders: string, partBody: string): string {
  return [
    'From: MAILER-DAEMON@mx.sender.example',
    'To: bounces@sender.example',
    'Subject: Undelivered Mail Returned to Sender',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain',
    '',
    'Your message could not be delivered.',
    '--b1',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.sender.example',
    '',
    'Final-Recipient: rfc822; nobody@sink.example',
    'Action: failed',
    'Status: 5.1.1',
    'Diagnostic-Code: smtp; 550 5.1.1 no such user',
    '',
    '--b1',
    partHeaders,
    '',
    partBody,
    '--b1--',
    '',
  ].join('\r\n');
}

describe('the returned headers, encoded', () => {
  const returned = (value: string): string =>
    ['From: news@sender.example', 'To: nobody@sink.example', 'Subject: June newsletter', `X-Mailer-Info-Extra: ${value}`, 'MIME-Version: 1.0', '', ''].join(
      '\r\n',
    );

  it('quoted-printable with a folded header (soft line breaks inside the value)', () => {
    const folded = foldedValue(ourKeys, signed, '\r\n');
    const qp = encodeQuotedPrintable(Buffer.from(returned(folded), 'latin1'), '\r\n', true).toString('latin1');
    expect(qp).toMatch(/=\r\n/);
    const event = onlyBounce(parse(dsnReturning('Content-Type: text/rfc822-headers\r\nContent-Transfer-Encoding: quoted-printable', qp)));
    expect(event).toMatchObject({ recipient: 'nobody@sink.example', sendId: 'a100525' });
  });

  it('quoted-printable with the whole value on one long line', () => {
    const oneLine = encodeInfoHeader(ourKeys, signed);
    const qp = encodeQuotedPrintable(Buffer.from(returned(oneLine), 'latin1'), '\r\n', true).toString('latin1');
    const event = onlyBounce(parse(dsnReturning('Content-Type: text/rfc822-headers\r\nContent-Transfer-Encoding: quoted-printable', qp)));
    expect(event.recipient).toBe('nobody@sink.example');
  });

  it('a base64-encoded message/rfc822 part', () => {
    const b64 = Buffer.from(`${returned(foldedValue(ourKeys, signed, '\r\n'))}Body.\r\n`, 'latin1')
      .toString('base64')
      .replace(/.{76}/g, '$&\r\n');
    const event = onlyBounce(parse(dsnReturning('Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64', b64)));
    expect(event.recipient).toBe('nobody@sink.example');
  });

  it('message/global-delivery-status and message/global-headers (RFC 6533), UTF-8 addresses', () => {
    const raw = dsnReturning('Content-Type: message/global-headers', returned(encodeInfoHeader(ourKeys, identity('jörg@bücher.example'))))
      .replace('Content-Type: message/delivery-status', 'Content-Type: message/global-delivery-status')
      .replace('Final-Recipient: rfc822; nobody@sink.example', 'Final-Recipient: utf-8; j\\x{F6}rg@b\\x{FC}cher.example');
    const event = onlyBounce(parse(raw));
    expect(event).toMatchObject({ recipient: 'jörg@bücher.example', reportedRecipient: 'jörg@bücher.example' });
  });

  it('skips a candidate that does not verify and takes the one that does', () => {
    const raw = dsnReturning(
      'Content-Type: text/rfc822-headers',
      `X-Mailer-Info-Extra: ${encodeInfoHeader(otherKeys, identity('x@y.example'))}\r\n${returned(encodeInfoHeader(ourKeys, signed))}`,
    );
    expect(onlyBounce(parse(raw)).recipient).toBe('nobody@sink.example');
  });
});

describe('caps and cleaning', () => {
  it('caps a huge diagnostic and strips control characters', () => {
    const text = fixtureWithHeader('postfix-dsn.eml', signed).toString('latin1');
    const huge = text.replace('Diagnostic-Code: smtp; 550 5.1.1', `Diagnostic-Code: smtp; 550 5.1.1 \u0000\u0007${'x'.repeat(100_000)}`);
    const event = onlyBounce(parse(huge));
    expect(event.diagnostic.length).toBeLessThanOrEqual(FIELD_CAPS.diagnostic);
    expect(event.diagnostic.endsWith('…')).toBe(true);
    expect([...event.diagnostic].some((c) => c.charCodeAt(0) < 0x20)).toBe(false);
  });

  it('caps every string field of every event', () => {
    const long = 'y'.repeat(5000);
    const text = readFixture('multi-recipient-failed-and-delayed.eml')
      .replace('{{INFO_HEADER}}', encodeInfoHeader(ourKeys, identity('')))
      .replace(/gone@example.org/g, `${long}@example.org`)
      .replace('Reporting-MTA: dns; relay.example.org', `Reporting-MTA: dns; ${long}`)
      .replace('Status: 5.1.1', `Status: 5.1.1 ${long}`)
      .replace('Action: failed', `Action: failed${long}`);
    const result = parse(text);
    expect(result.kind).toBe('bounce');
    if (result.kind !== 'bounce') return;
    for (const event of [...result.events, ...result.delayed]) {
      expect(event.reportedRecipient.length).toBeLessThanOrEqual(FIELD_CAPS.address);
      expect(event.recipient.length).toBeLessThanOrEqual(FIELD_CAPS.address);
      expect(event.reportingMta.length).toBeLessThanOrEqual(FIELD_CAPS.mta);
      expect(event.status.length).toBeLessThanOrEqual(FIELD_CAPS.status);
      expect(event.action.length).toBeLessThanOrEqual(FIELD_CAPS.action);
    }
  });
});

describe('garbage', () => {
  const inputs: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['a blank line', Buffer.from('\r\n')],
    ['random bytes', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256))],
    ['headers only', Buffer.from('Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n')],
    ['a report with no parts', Buffer.from('Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\nno delimiter at all\r\n')],
    ['an empty delivery-status', Buffer.from('Content-Type: message/delivery-status\r\n\r\n')],
    ['an unknown charset', Buffer.from('Content-Type: text/plain; charset=x-no-such-thing\r\n\r\n550 5.1.1 failed\r\n')],
    [
      'UTF-16 text',
      Buffer.concat([Buffer.from('Content-Type: text/plain; charset=utf-16le\r\n\r\n'), Buffer.from('Delivery failed 550 5.1.1\r\n', 'utf16le')]),
    ],
    [
      'a boundary that never closes',
      Buffer.from('Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Type: message/rfc822\r\n\r\nX-Mailer-Info-Extra: AAAA'),
    ],
    [
      'deep nesting',
      Buffer.from(`${Array.from({ length: 2000 }, (_, i) => `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n`).join('')}\r\nend`),
    ],
    ['a NUL-filled message', Buffer.alloc(10_000)],
  ];

  it.each(inputs)('%s: a typed result, no exception', (_name, raw) => {
    const result = parseReport(raw, ourKeys);
    expect(['not-ours', 'not-a-report']).toContain(result.kind);
  });

  it('a declared delivery-status report with nothing readable but our header is a bounce of unknown kind', () => {
    const raw = `Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nX-Mailer-Info-Extra: ${encodeInfoHeader(ourKeys, signed)}\r\n\r\n--b--\r\n`;
    expect(onlyBounce(parse(raw))).toMatchObject({ recipient: 'nobody@sink.example', classification: 'unknown', category: 'other', status: '' });
  });
});
