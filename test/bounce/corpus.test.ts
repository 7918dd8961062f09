/**
 * The real DSNs and ARF reports of the shared corpus. They do not carry our header, so each file is
 * checked three ways: (1) what the parser reads from it, written out by hand from reading the file;
 * (2) with a valid X-Mailer-Info-Extra injected into the returned headers, the events name the
 * right recipient and send; (3) with a header signed by another key, or tampered with, not-ours.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeInfoHeader } from '../../src/tokens/index.js';
import { inspectReport, parseReport, type BounceResult, type ReportFormat } from '../../src/bounce/index.js';
import { CORPUS, corpusAbsence, corpusExists, identity, injectAfterLine, NOW, otherKeys, ourKeys } from './helpers.js';

interface RecipientExpectation {
  reportedRecipient: string;
  action: string;
  status: string;
  /** A piece of the diagnostic (they are long). */
  diagnostic: string;
  remoteMta?: string;
  classification: 'hard' | 'soft' | 'unknown';
  category: string;
}

interface CorpusExpectation {
  format: ReportFormat;
  reportingMta?: string;
  recipients?: RecipientExpectation[];
  complaint?: { feedbackType: string; userAgent: string; reportedRecipient: string; sourceIp: string; arrivalDate: string };
  /** The line of the returned headers after which our header is injected; absent when nothing returns the original. */
  anchor?: string;
  /** The kind parseReport gives once the header is injected. */
  kind: BounceResult['kind'];
  /** Without our header (as in the corpus): this kind. */
  kindWithoutHeader: BounceResult['kind'];
}

const gmailUnknown = 'The email account that you tried to reach does not exist';

const EXPECTED: Record<string, CorpusExpectation> = {
  'flanker-bounce-broken-mime.eml': {
    format: 'unstructured',
    recipients: [
      {
        reportedRecipient: 'info@example.net',
        action: '',
        status: '',
        diagnostic: 'Delivery failed 10 attempts: info@example.net',
        classification: 'unknown',
        category: 'other',
      },
    ],
    anchor: 'To: info@example.net',
    kind: 'bounce',
    kindWithoutHeader: 'not-ours',
  },
  'flanker-bounce-delayed-broken.eml': {
    format: 'dsn',
    reportingMta: 'a92.example.com',
    // Action failed with a 4.x.x status: given up, but the address was never refused.
    recipients: [
      { reportedRecipient: 'demo@example.com', action: 'failed', status: '4.2.2', diagnostic: '', classification: 'soft', category: 'mailbox-full' },
    ],
    kind: 'not-ours',
    kindWithoutHeader: 'not-ours',
  },
  'flanker-bounce-delayed.eml': {
    format: 'dsn',
    reportingMta: 'cs.example.com',
    recipients: [
      {
        reportedRecipient: 'foo@example.com',
        action: 'failed',
        status: '4.0.0',
        diagnostic: '426 connection timed out',
        classification: 'soft',
        category: 'transient',
      },
    ],
    anchor: 'Subject: Hello, how are you',
    kind: 'bounce',
    kindWithoutHeader: 'not-ours',
  },
  'flanker-bounce-gmail-invalid-address.eml': {
    format: 'unstructured',
    recipients: [
      {
        reportedRecipient: 'awfawfawfawfawfaw@someserverhere.com',
        action: '',
        status: '5.1.0',
        diagnostic: '550 5.1.0 Recipient rejected: <awfawfawfawfawfaw@someserverhere.com>',
        classification: 'hard',
        category: 'bad-address',
      },
    ],
    anchor: 'To: awfawfawfawfawfaw@someserverhere.com',
    kind: 'bounce',
    kindWithoutHeader: 'not-ours',
  },
  'flanker-bounce-gmail-no-dns.eml': {
    format: 'unstructured',
    recipients: [
      {
        reportedRecipient: 'user@example.comm',
        action: '',
        status: '',
        diagnostic: 'DNS Error: Domain name not found',
        classification: 'hard',
        category: 'bad-domain',
      },
    ],
    anchor: 'To: user@example.comm',
    kind: 'bounce',
    kindWithoutHeader: 'not-ours',
  },
  'flanker-bounce-mailbox-full.eml': {
    format: 'dsn',
    reportingMta: 'mtain-db01.r1000.mx.aol.com',
    recipients: [
      {
        reportedRecipient: 'user@aol.com',
        action: 'failed',
        status: '5.2.2',
        diagnostic: '552 5.2.2 E4.12 user MAILBOX FULL',
        remoteMta: 'air-dc.gair-dc.mail.aol.com',
        classification: 'soft',
        category: 'mailbox-full',
      },
    ],
    anchor: 'To: user@aol.com',
    kind: 'bounce',
    kindWithoutHeader: 'not-ours',
  },
  'flanker-bounce-no-mx.eml': {
    format: 'dsn',
    reportingMta: 'example.com',
    recipients: [
      {
        reportedRecipient: 'user@example.com',
        action: 'delayed',
        status: '4.4.4',
        diagnostic: '454 4.4.4 [internal] no MX or A for domain',
        classification: 'soft',
        category: 'bad-domain',
      },
    ],
    anchor: 'To: <user@example.com>',
    kind: 'delayed',
    kindWithoutHeader: 'not-ours',
  },
  'flanker-bounce-office365.eml': {
    format: 'dsn',
    reportingMta: 'DB5PR06MB1800.eurprd06.prod.outlook.com',
    recipients: [
      {
        reportedRecipient: 'noname@example.com',
        action: 'failed',
        status: '5.1.10',
        diagnostic: '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient noname@example.com not found by SMTP address lookup',
        classification: 'hard',
        category: 'bad-address',
      },
    ],
    anchor: 'To: noname@example.com',
    kind: 'bounce',
    kindWithoutHeader: 'not-ours',
  },
  'flanker-bounce-zed.eml': {
    format: 'dsn',
    reportingMta: 'mail.example.com',
    recipients: [
      {
        reportedRecipient: 'asdfasdfasdfasdfasdfasdfewrqertrtyrthsfgdfgadfqeadvxzvz@gmail.com',
        action: 'failed',
        status: '5.1.1',
        diagnostic: `550-5.1.1 ${gmailUnknown}`,
        remoteMta: 'gmail-smtp-in.l.google.com',
        classification: 'hard',
        category: 'bad-address',
      },
    ],
    anchor: 'To: asdfasdfasdfasdfasdfasdfewrqertrtyrthsfgdfgadfqeadvxzvz@gmail.com',
    kind: 'bounce',
    kindWithoutHeader: 'not-ours',
  },
  'flanker-complaints-aol.eml': {
    format: 'arf',
    // AOL redacts the complainer's address: only our header can say who it was.
    complaint: {
      feedbackType: 'abuse',
      userAgent: 'AOL SComp',
      reportedRecipient: '',
      sourceIp: '173.193.210.34',
      arrivalDate: 'Wed, 17 Nov 2010 12:41:30 -0500 (EST)',
    },
    anchor: 'To: redacted@aol.com',
    kind: 'complaint',
    kindWithoutHeader: 'not-ours',
  },
  'flanker-complaints-yahoo.eml': {
    format: 'arf',
    complaint: {
      feedbackType: 'abuse',
      userAgent: 'Yahoo!-Mail-Feedback/1.0',
      reportedRecipient: 'user@yahoo.com',
      sourceIp: '',
      arrivalDate: 'Tue, 10 Jul 2012 18:50:18 PDT',
    },
    anchor: 'To: user@yahoo.com',
    kind: 'complaint',
    kindWithoutHeader: 'not-ours',
  },
  'flanker-disposition-notification.eml': {
    // A read receipt: even with our header it is not a bounce.
    format: 'mdn',
    anchor: 'Subject:Hi',
    kind: 'not-a-report',
    kindWithoutHeader: 'not-a-report',
  },
  'mail-multi-address-bounce1.eml': {
    format: 'dsn',
    reportingMta: 'lvmail01.LL.com',
    recipients: ['bbbbvhvbbvkjbhfbvbvjhb', 'bscdbcjhasbcjhbdscbhbsdhcbj', 'egyfefsdvsfvvhjsd', 'kfhejkfbsjkjsbhds', 'qfvhgsvhgsduiohncdhcvhsdfvsfygusd'].map(
      (local) => ({
        reportedRecipient: `${local}@gmail.com`,
        action: 'failed',
        status: '5.1.1',
        diagnostic: `550-5.1.1 ${gmailUnknown}`,
        remoteMta: 'gmail-smtp-in.l.google.com',
        classification: 'hard' as const,
        category: 'bad-address',
      }),
    ),
    anchor: 'Subject: Test of bounce email',
    kind: 'bounce',
    kindWithoutHeader: 'not-ours',
  },
  'mail-multipart-report-multiple-status.eml': {
    // The first message/delivery-status part is prose; the second holds the fields.
    format: 'dsn',
    reportingMta: 'schemailmta04.ci.com',
    recipients: [{ reportedRecipient: 'u@ci.com', action: 'failed', status: '5.3.0', diagnostic: '', classification: 'hard', category: 'other' }],
    anchor: 'Subject: Your Friend F M wants you to join HomeRun',
    kind: 'bounce',
    kindWithoutHeader: 'not-ours',
  },
  'mail-report-422.eml': {
    format: 'dsn',
    reportingMta: 'mail11.ttttt.com.au',
    recipients: [
      {
        reportedRecipient: 'fraser@oooooooo.com.au',
        action: 'delayed',
        status: '4.2.2',
        diagnostic: '452 4.2.2 <fraser@oooooooo.com.au>... Mailbox full',
        remoteMta: 'mail.oooooooo.com.au',
        classification: 'soft',
        category: 'mailbox-full',
      },
    ],
    anchor: 'Subject: Wanted',
    kind: 'delayed',
    kindWithoutHeader: 'not-ours',
  },
  'mail-report-530.eml': {
    format: 'dsn',
    reportingMta: 'mail12.rrrr.com.au',
    recipients: [
      {
        reportedRecipient: 'edwin@zzzzzzz.com',
        action: 'failed',
        status: '5.3.0',
        diagnostic: '553 5.3.0 <edwin@zzzzzzz.com>... Unknown E-Mail Address',
        remoteMta: 'mail.zzzzzz.com',
        classification: 'hard',
        category: 'bad-address',
      },
    ],
    anchor: 'Subject: Returned mail: User unknown',
    kind: 'bounce',
    kindWithoutHeader: 'not-ours',
  },
  'mailparser-delivery-status.eml': {
    // Amazon SES writes Action before Final-Recipient in the same block.
    format: 'dsn',
    reportingMta: 'amazonses.com',
    recipients: [
      {
        reportedRecipient: 'xxxx@xxxx.com',
        action: 'failed',
        status: '5.1.1',
        diagnostic: 'Amazon SES did not send the message to this address because it is on the suppression list',
        remoteMta: 'amazonses.com',
        classification: 'hard',
        category: 'bad-address',
      },
    ],
    anchor: 'Subject: Example Subject',
    kind: 'bounce',
    kindWithoutHeader: 'not-ours',
  },
  'phpmmp-failure.eml': {
    // Truncated after its (Japanese) notice: declared a delivery-status report, nothing returned.
    format: 'unstructured',
    kind: 'not-ours',
    kindWithoutHeader: 'not-ours',
  },
  'postal-postfix-bounce.eml': {
    // A Postfix bounce re-wrapped by Exchange as multipart/related: no DSN part, prose plus the returned message.
    format: 'unstructured',
    reportingMta: 'smtp.infra.atech.io',
    recipients: [
      {
        reportedRecipient: 'bob@nutty.tk',
        action: '',
        status: '5.1.1',
        diagnostic: '550 5.1.1 <bob@nutty.tk>: Recipient address rejected: User unknown in virtual mailbox table',
        classification: 'hard',
        category: 'bad-address',
      },
    ],
    anchor: 'Subject: testing message',
    kind: 'bounce',
    kindWithoutHeader: 'not-ours',
  },
};

const BOUNCE_LIKE = /bounce|report|delivery-status|complaint|disposition|failure/;

if (!corpusExists) console.log(`the corpus bounce tests are skipped: ${corpusAbsence}`);

describe.skipIf(!corpusExists)('corpus bounces and complaints', () => {
  const files = corpusExists
    ? readdirSync(CORPUS)
        .filter((f) => BOUNCE_LIKE.test(f))
        .sort()
    : [];
  const read = (file: string): Buffer => readFileSync(join(CORPUS, file));

  it('has an expectation for every bounce-like corpus file', () => {
    expect(files).toEqual(Object.keys(EXPECTED).sort());
  });

  describe.each(Object.entries(EXPECTED))('%s', (file, expected) => {
    it('reads the report fields', () => {
      const inspection = inspectReport(read(file));
      expect(inspection.format).toBe(expected.format);
      expect(inspection.infoHeaderCandidates).toEqual([]);
      if (expected.format === 'dsn') {
        const report = inspection.deliveryStatus!;
        expect(report.reportingMta).toBe(expected.reportingMta);
        expect(report.recipients.map((r) => r.finalRecipient)).toEqual(expected.recipients!.map((r) => r.reportedRecipient));
        report.recipients.forEach((recipient, i) => {
          const want = expected.recipients![i]!;
          expect(recipient.action).toBe(want.action);
          expect(recipient.status).toBe(want.status);
          expect(recipient.diagnostic).toContain(want.diagnostic);
          if (want.remoteMta) expect(recipient.remoteMta).toBe(want.remoteMta);
        });
      }
      if (expected.format === 'arf') {
        const feedback = inspection.feedback!;
        const want = expected.complaint!;
        expect(feedback.feedbackType).toBe(want.feedbackType);
        expect(feedback.userAgent).toBe(want.userAgent);
        expect(feedback.originalRcptTo[0] ?? '').toBe(want.reportedRecipient);
        expect(feedback.sourceIp).toBe(want.sourceIp);
        expect(feedback.arrivalDate).toBe(want.arrivalDate);
      }
      if (expected.format === 'unstructured' && expected.recipients) {
        const want = expected.recipients[0]!;
        expect(inspection.notice).toMatchObject({ status: want.status, reportedRecipient: want.reportedRecipient });
        expect(inspection.notice!.diagnostic).toContain(want.diagnostic);
      }
    });

    it('is counted as not ours without our header', () => {
      expect(parseReport(read(file), ourKeys).kind).toBe(expected.kindWithoutHeader);
    });

    it.skipIf(!expected.anchor)('names the right recipient and send once our header is in the returned headers', () => {
      // A multi-recipient message carries an empty recipient: the report's address is used.
      const wanted = expected.recipients ?? [{ reportedRecipient: expected.complaint?.reportedRecipient ?? '' }];
      const signedFor = wanted.length === 1 ? identity('subscriber@list.example') : identity('');
      const raw = injectAfterLine(read(file), expected.anchor!, encodeInfoHeader(ourKeys, signedFor));
      const result = parseReport(raw, ourKeys, { now: NOW });
      expect(result.kind).toBe(expected.kind);
      if (result.kind === 'not-ours' || result.kind === 'not-a-report') return;
      const events = result.kind === 'bounce' ? [...result.events, ...result.delayed] : result.events;
      expect(events).toHaveLength(wanted.length);
      events.forEach((event, i) => {
        expect(event).toMatchObject({ sendId: 'a100525', listId: 'list-7', emailCode: 'ec-42', time: NOW, kid: 1 });
        expect(event.recipient).toBe(signedFor.recipient || wanted[i]!.reportedRecipient);
        expect(event.reportedRecipient).toBe(wanted[i]!.reportedRecipient);
        if (expected.reportingMta) expect(event.reportingMta).toBe(expected.reportingMta);
        if (expected.recipients) {
          const want = expected.recipients[i]!;
          expect(event).toMatchObject({ status: want.status, action: want.action, classification: want.classification, category: want.category });
          expect(event.diagnostic).toContain(want.diagnostic);
        }
      });
      if (result.kind === 'complaint') {
        expect(result.events[0]).toMatchObject({ type: 'complaint', feedbackType: expected.complaint!.feedbackType, category: 'complaint', source: 'arf' });
      }
    });

    it.skipIf(!expected.anchor || expected.kind === 'not-a-report')('is not ours when the header is signed by another key or tampered with', () => {
      const foreign = injectAfterLine(read(file), expected.anchor!, encodeInfoHeader(otherKeys, identity('subscriber@list.example')));
      expect(parseReport(foreign, ourKeys)).toEqual({ kind: 'not-ours', reason: 'info-header-invalid', detail: 'bad-mac' });
      const value = encodeInfoHeader(ourKeys, identity('subscriber@list.example'));
      // Flip one character in the middle of the value (the MAC or the payload, either must fail).
      const at = Math.floor(value.length / 2) + (value[Math.floor(value.length / 2)] === ' ' ? 1 : 0);
      const tampered = value.slice(0, at) + (value[at] === 'A' ? 'B' : 'A') + value.slice(at + 1);
      const result = parseReport(injectAfterLine(read(file), expected.anchor!, tampered), ourKeys);
      expect(result.kind).toBe('not-ours');
    });
  });
});
