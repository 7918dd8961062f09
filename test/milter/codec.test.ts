// Framing and payload codecs, checked against byte layouts written out by hand from the protocol
// description (milter-protocol.md / mfdef.h), not against the encoders themselves.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodePacket, FrameDecoder, splitCStrings, u32, type Packet } from '../../src/milter/codec.js';
import {
  encodeAddHeader,
  encodeChangeHeader,
  encodeConnect,
  encodeEnvelope,
  encodeHeader,
  encodeInsertHeader,
  encodeMacro,
  encodeOptNeg,
  encodeReplyCode,
  parseConnect,
  parseEnvelope,
  parseHeader,
  parseMacro,
  parseOptNeg,
  parseSingleString,
} from '../../src/milter/commands.js';
import { CodedError } from '../../src/util/errors.js';

/** A packet built by hand: u32 big-endian length (command byte + data), command byte, data. */
function frame(code: string, ...parts: Array<Buffer | string | number[]>): Buffer {
  const data = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(data.length + 1, 0);
  head[4] = code.charCodeAt(0);
  return Buffer.concat([head, data]);
}

function be32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** Decodes a whole stream in one push and insists on exactly one packet and nothing pending. */
function decodeOne(bytes: Buffer): Packet {
  const d = new FrameDecoder();
  const packets = d.push(bytes);
  expect(packets).toHaveLength(1);
  expect(d.pendingBytes).toBe(0);
  return packets[0]!;
}

function expectCoded(fn: () => unknown, code: string): CodedError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(CodedError);
  expect((caught as CodedError).code).toBe(code);
  return caught as CodedError;
}

describe('MTA commands: encoders produce the documented bytes and the parsers read them back', () => {
  it('OPTNEG', () => {
    const wire = frame('O', be32(6), be32(0x1ff), be32(0x1fffff));
    expect(encodePacket('O', u32(6, 0x1ff, 0x1fffff))).toEqual(wire);
    const p = decodeOne(wire);
    expect(p.code).toBe('O');
    expect(parseOptNeg(p.data)).toEqual({ version: 6, actions: 0x1ff, protocol: 0x1fffff });
    // The high bit of a u32 survives (no sign trouble).
    expect(parseOptNeg(decodeOne(frame('O', be32(0xffffffff), be32(0x80000000), be32(1))).data)).toEqual({
      version: 0xffffffff,
      actions: 0x80000000,
      protocol: 1,
    });
  });

  it('OPTNEG reply, with and without macro lists', () => {
    const plain = encodeOptNeg({ version: 6, actions: 0x13, protocol: 0x1fff80 });
    expect(plain).toEqual(frame('O', be32(6), be32(0x13), be32(0x1fff80)));
    const lists = encodeOptNeg({ version: 6, actions: 0x113, protocol: 0 }, [{ stage: 4, macros: 'i {mail_addr}' }]);
    expect(lists).toEqual(frame('O', be32(6), be32(0x113), be32(0), be32(4), 'i {mail_addr}\0'));
  });

  it('MACRO: one-letter names bare, longer names in braces; parsed names without braces', () => {
    const wire = encodeMacro('C', { j: 'mx.example.com', daemon_name: 'smtpd', '{client_addr}': '192.0.2.1' });
    expect(wire).toEqual(frame('D', 'C', 'j\0mx.example.com\0{daemon_name}\0smtpd\0{client_addr}\x00192.0.2.1\0'));
    const p = decodeOne(wire);
    expect(p.code).toBe('D');
    expect(parseMacro(p.data)).toEqual({
      stage: 'C',
      macros: { j: 'mx.example.com', daemon_name: 'smtpd', client_addr: '192.0.2.1' },
    });
  });

  it('MACRO with values holding 8-bit bytes keeps every byte (latin1 binary strings)', () => {
    const value = Buffer.from('Grüße', 'utf8').toString('latin1');
    const p = decodeOne(frame('D', 'M', Buffer.from('{mail_addr}\0', 'latin1'), Buffer.from('Grüße', 'utf8'), '\0'));
    expect(parseMacro(p.data).macros['mail_addr']).toBe(value);
    expect(Buffer.from(value, 'latin1').toString('utf8')).toBe('Grüße');
  });

  it('CONNECT over a unix socket', () => {
    const wire = encodeConnect({ hostname: 'localhost', family: 'unix', port: 0, address: '/var/run/smtp.sock' });
    expect(wire).toEqual(frame('C', 'localhost\0', 'L', [0, 0], '/var/run/smtp.sock\0'));
    expect(parseConnect(decodeOne(wire).data)).toEqual({ hostname: 'localhost', family: 'unix', port: 0, address: '/var/run/smtp.sock' });
  });

  it('CONNECT over IPv4, port big-endian', () => {
    const wire = encodeConnect({ hostname: 'mail.example.org', family: 'inet', port: 0xc351, address: '192.0.2.7' });
    expect(wire).toEqual(frame('C', 'mail.example.org\0', '4', [0xc3, 0x51], '192.0.2.7\0'));
    expect(parseConnect(decodeOne(wire).data)).toEqual({ hostname: 'mail.example.org', family: 'inet', port: 50001, address: '192.0.2.7' });
  });

  it("CONNECT over IPv6, with and without sendmail's IPv6: prefix", () => {
    const plain = encodeConnect({ hostname: '[2001:db8::1]', family: 'inet6', port: 25, address: '2001:db8::1' });
    expect(plain).toEqual(frame('C', '[2001:db8::1]\0', '6', [0, 25], '2001:db8::1\0'));
    expect(parseConnect(decodeOne(plain).data)).toMatchObject({ family: 'inet6', port: 25, address: '2001:db8::1' });
    for (const prefix of ['IPv6:', 'ipv6:', 'IPV6:']) {
      const sendmail = frame('C', 'host6\0', '6', [0x01, 0xbb], `${prefix}2001:db8::25\0`);
      expect(parseConnect(decodeOne(sendmail).data)).toEqual({ hostname: 'host6', family: 'inet6', port: 443, address: '2001:db8::25' });
    }
  });

  it('CONNECT from an unknown family carries nothing after the family byte', () => {
    const wire = encodeConnect({ hostname: 'unknown', family: 'unknown', port: 0, address: '' });
    expect(wire).toEqual(frame('C', 'unknown\0', 'U'));
    expect(parseConnect(decodeOne(wire).data)).toEqual({ hostname: 'unknown', family: 'unknown', port: 0, address: '' });
  });

  it('HELO and UNKNOWN: one NUL-terminated string', () => {
    const helo = decodeOne(frame('H', 'client.example.net\0'));
    expect(helo.code).toBe('H');
    expect(parseSingleString(helo.data)).toBe('client.example.net');
    const unknown = decodeOne(frame('U', 'XFOO bar baz\0'));
    expect(unknown.code).toBe('U');
    expect(parseSingleString(unknown.data)).toBe('XFOO bar baz');
  });

  it('MAIL and RCPT with ESMTP arguments; the null sender', () => {
    const mail = encodeEnvelope('M', { address: 'sender@example.com', args: ['SIZE=12345', 'BODY=8BITMIME'] });
    expect(mail).toEqual(frame('M', '<sender@example.com>\0SIZE=12345\0BODY=8BITMIME\0'));
    expect(parseEnvelope(decodeOne(mail).data)).toEqual({ address: 'sender@example.com', args: ['SIZE=12345', 'BODY=8BITMIME'] });

    const rcpt = encodeEnvelope('R', { address: 'rcpt@example.net', args: ['NOTIFY=SUCCESS,FAILURE', 'ORCPT=rfc822;rcpt@example.net'] });
    expect(rcpt).toEqual(frame('R', '<rcpt@example.net>\0NOTIFY=SUCCESS,FAILURE\0ORCPT=rfc822;rcpt@example.net\0'));
    const parsed = decodeOne(rcpt);
    expect(parsed.code).toBe('R');
    expect(parseEnvelope(parsed.data)).toEqual({ address: 'rcpt@example.net', args: ['NOTIFY=SUCCESS,FAILURE', 'ORCPT=rfc822;rcpt@example.net'] });

    expect(parseEnvelope(decodeOne(frame('M', '<>\0')).data)).toEqual({ address: '', args: [] });
    // Sendmail may send an address without brackets.
    expect(parseEnvelope(decodeOne(frame('M', 'bare@example.com\0')).data)).toEqual({ address: 'bare@example.com', args: [] });
  });

  it('HEADER: name and value, an empty value, a folded value with bare LF', () => {
    const wire = encodeHeader({ name: 'Subject', value: 'Hello there' });
    expect(wire).toEqual(frame('L', 'Subject\0Hello there\0'));
    expect(parseHeader(decodeOne(wire).data)).toEqual({ name: 'Subject', value: 'Hello there' });
    expect(parseHeader(decodeOne(frame('L', 'X-Empty\0\0')).data)).toEqual({ name: 'X-Empty', value: '' });
    expect(parseHeader(decodeOne(frame('L', 'References\0<a@x>\n\t<b@x>\0')).data)).toEqual({ name: 'References', value: '<a@x>\n\t<b@x>' });
    // With HDR_LEADSPC the MTA keeps the space; the parser leaves it to the session.
    expect(parseHeader(decodeOne(frame('L', 'To\0 someone@example.com\0')).data).value).toBe(' someone@example.com');
  });

  it('DATA, EOH, BODYEOB, ABORT, QUIT, QUIT_NC: no payload', () => {
    for (const code of ['T', 'N', 'E', 'A', 'Q', 'K']) {
      const wire = encodePacket(code);
      expect(wire).toEqual(Buffer.from([0, 0, 0, 1, code.charCodeAt(0)]));
      const p = decodeOne(wire);
      expect(p.code).toBe(code);
      expect(p.data.length).toBe(0);
    }
  });

  it('BODY: raw bytes, every byte value, a full 65535-byte chunk', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(decodeOne(frame('B', all)).data).toEqual(all);
    const full = Buffer.alloc(65535, 0x61);
    full.write('\r\n', 65533, 'latin1');
    const wire = encodePacket('B', full);
    expect(wire.readUInt32BE(0)).toBe(65536);
    expect(decodeOne(wire).data).toEqual(full);
  });
});

describe('milter replies', () => {
  /** Reads back the way an MTA does: u32 index where present, then NUL-terminated strings. */
  it('ADDHEADER', () => {
    const wire = encodeAddHeader({ name: 'X-Trackmilter', value: '0.1.0' });
    expect(wire).toEqual(frame('h', 'X-Trackmilter\0', '0.1.0\0'));
    const p = decodeOne(wire);
    expect(p.code).toBe('h');
    expect(splitCStrings(p.data)).toEqual(['X-Trackmilter', '0.1.0']);
  });

  it('INSHEADER with an index', () => {
    const wire = encodeInsertHeader(0, { name: 'X-First', value: 'top' });
    expect(wire).toEqual(frame('i', be32(0), 'X-First\0top\0'));
    const p = decodeOne(encodeInsertHeader(7, { name: 'X-Seventh', value: 'v' }));
    expect(p.code).toBe('i');
    expect(p.data.readUInt32BE(0)).toBe(7);
    expect(splitCStrings(p.data.subarray(4))).toEqual(['X-Seventh', 'v']);
  });

  it('CHGHEADER, including the empty value that deletes', () => {
    expect(encodeChangeHeader(2, { name: 'Content-Type', value: 'text/plain' })).toEqual(frame('m', be32(2), 'Content-Type\0text/plain\0'));
    const del = decodeOne(encodeChangeHeader(1, { name: 'X-GreenArrow-MailClass', value: '' }));
    expect(del.code).toBe('m');
    expect(del.data.readUInt32BE(0)).toBe(1);
    expect(del.data.subarray(4)).toEqual(Buffer.from('X-GreenArrow-MailClass\0\0', 'latin1'));
  });

  it('REPLBODY', () => {
    const body = Buffer.from('line one\r\nline two\r\n');
    const p = decodeOne(encodePacket('b', body));
    expect(p.code).toBe('b');
    expect(p.data).toEqual(body);
  });

  it('REPLYCODE doubles % for sendmail and keeps everything else', () => {
    const wire = encodeReplyCode('550 5.7.1 100% spam, 50%% off');
    expect(wire).toEqual(frame('y', '550 5.7.1 100%% spam, 50%%%% off\0'));
    const p = decodeOne(wire);
    expect(p.code).toBe('y');
    expect(splitCStrings(p.data)).toEqual(['550 5.7.1 100%% spam, 50%%%% off']);
    // A reply must be one line: CR/LF cannot travel inside it.
    expect(splitCStrings(decodeOne(encodeReplyCode('451 4.3.0 a\r\nb')).data)[0]).not.toMatch(/[\r\n]/);
  });

  it('simple replies have a length of 1 and no data', () => {
    for (const code of ['a', 'c', 'r', 't', 'd', 'p', 's']) {
      const p = decodeOne(encodePacket(code));
      expect(p).toEqual({ code, data: Buffer.alloc(0) });
    }
  });
});

// --- a whole Postfix session, as bytes ---

interface Expected {
  code: string;
  data: Buffer;
}

function postfixSession(): { bytes: Buffer; expected: Expected[] } {
  const packets: Buffer[] = [];
  const add = (code: string, ...parts: Array<Buffer | string | number[]>): void => {
    packets.push(frame(code, ...parts));
  };
  add('O', be32(6), be32(0x1ff), be32(0x1fffff));
  add(
    'D',
    'C',
    'j\0mx.example.com\0{daemon_name}\0smtpd\0v\0Postfix 3.7.11\0_\0client.example.net [192.0.2.10]\0{client_addr}\x00192.0.2.10\0{client_name}\0client.example.net\0',
  );
  add('C', 'client.example.net\0', '4', [0xd4, 0x31], '192.0.2.10\0');
  add('D', 'H', '{tls_version}\0TLSv1.3\0{cipher}\0TLS_AES_256_GCM_SHA384\0');
  add('H', 'client.example.net\0');
  add('D', 'M', '{auth_type}\0PLAIN\0{auth_authen}\0sender\0{mail_addr}\0sender@example.com\0{mail_host}\0example.com\0{mail_mailer}\0smtp\0');
  add('M', '<sender@example.com>\0SIZE=200000\0BODY=8BITMIME\0');
  add('D', 'R', '{rcpt_addr}\0a@example.net\0{rcpt_host}\0example.net\0{rcpt_mailer}\0smtp\0');
  add('R', '<a@example.net>\0');
  add('D', 'R', '{rcpt_addr}\0b@example.org\0{rcpt_host}\0example.org\0{rcpt_mailer}\0smtp\0');
  add('R', '<b@example.org>\0NOTIFY=FAILURE\0');
  add('D', 'T', 'i\x004Xyz1A2B3C\0');
  add('T');
  const headers: Array<[string, string]> = [
    ['Received', 'from client.example.net (client.example.net [192.0.2.10])\n\tby mx.example.com (Postfix) with ESMTPSA id 4Xyz1A2B3C'],
    ['From', 'Sender <sender@example.com>'],
    ['To', 'a@example.net, b@example.org'],
    ['Subject', '=?UTF-8?B?R3LDvMOfZQ==?='],
    ['Date', 'Sun, 22 Nov 2026 18:00:00 +0000'],
    ['Message-ID', '<20261122180000.1@example.com>'],
    ['MIME-Version', '1.0'],
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['Content-Transfer-Encoding', '8bit'],
    ['X-GreenArrow-MailClass', 'a'],
  ];
  for (const [n, v] of headers) add('L', `${n}\0${v}\0`);
  add('D', 'N', '');
  add('N');
  let seed = 12345;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (const size of [65535, 65535, 65535, 1234]) {
    const chunk = Buffer.alloc(size);
    for (let i = 0; i < size; i++) chunk[i] = i % 78 === 76 ? 0x0d : i % 78 === 77 ? 0x0a : 0x20 + (rnd() % 95);
    add('B', chunk);
  }
  add('D', 'E', '{msg_id}\0<20261122180000.1@example.com>\0');
  add('E');
  add('Q');
  const bytes = Buffer.concat(packets);
  const expected = packets.map((p) => ({ code: String.fromCharCode(p[4]!), data: Buffer.from(p.subarray(5)) }));
  return { bytes, expected };
}

const SESSION = postfixSession();

function decodeSplit(bytes: Buffer, cuts: number[]): { packets: Expected[]; pending: number } {
  const d = new FrameDecoder();
  const packets: Expected[] = [];
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let prev = 0;
  for (const cut of [...points, bytes.length]) {
    if (cut < prev) continue;
    // Copy each piece, as a socket read would hand us a fresh buffer.
    for (const p of d.push(Buffer.from(bytes.subarray(prev, cut)))) packets.push({ code: p.code, data: Buffer.from(p.data) });
    prev = cut;
  }
  return { packets, pending: d.pendingBytes };
}

function expectSamePackets(actual: Expected[], expected: Expected[]): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(actual[i]!.code, `packet ${i}`).toBe(expected[i]!.code);
    // Compare buffers with equals(): toEqual on 64 KiB buffers makes unreadable diffs.
    expect(actual[i]!.data.equals(expected[i]!.data), `packet ${i} (${expected[i]!.code}) data`).toBe(true);
  }
}

describe('a recorded Postfix session', () => {
  it('has the shape we meant to record', () => {
    const codes = SESSION.expected.map((p) => p.code).join('');
    expect(codes).toBe('ODCDHDMDRDRDT' + 'L'.repeat(10) + 'DN' + 'BBBB' + 'DEQ');
    expect(SESSION.expected.filter((p) => p.code === 'B').map((p) => p.data.length)).toEqual([65535, 65535, 65535, 1234]);
  });

  it('decodes in one read', () => {
    const { packets, pending } = decodeSplit(SESSION.bytes, []);
    expect(pending).toBe(0);
    expectSamePackets(packets, SESSION.expected);
  });

  it('decodes one byte at a time', () => {
    const d = new FrameDecoder();
    const packets: Expected[] = [];
    for (let i = 0; i < SESSION.bytes.length; i++) {
      for (const p of d.push(SESSION.bytes.subarray(i, i + 1))) packets.push({ code: p.code, data: Buffer.from(p.data) });
      if (i < SESSION.bytes.length - 1) expect(d.pendingBytes).toBeGreaterThanOrEqual(0);
    }
    expect(d.pendingBytes).toBe(0);
    expectSamePackets(packets, SESSION.expected);
  });

  it('decodes identically under random splits and coalescing', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: SESSION.bytes.length }), { maxLength: 400 }), (cuts) => {
        const { packets, pending } = decodeSplit(SESSION.bytes, cuts);
        expect(pending).toBe(0);
        expectSamePackets(packets, SESSION.expected);
      }),
      { numRuns: 150 },
    );
  });

  it('decodes identically with runs of tiny reads around packet boundaries', () => {
    // Cut points clustered at every packet boundary +-5 bytes: headers split 1/3, 2/2, 3/1 ...
    const boundaries: number[] = [];
    let off = 0;
    while (off < SESSION.bytes.length) {
      boundaries.push(off);
      off += 4 + SESSION.bytes.readUInt32BE(off);
    }
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...boundaries), fc.integer({ min: -5, max: 5 })), { minLength: 1, maxLength: 200 }), (picks) => {
        const cuts = picks.map(([b, d]) => Math.max(0, Math.min(SESSION.bytes.length, b + d)));
        const { packets, pending } = decodeSplit(SESSION.bytes, cuts);
        expect(pending).toBe(0);
        expectSamePackets(packets, SESSION.expected);
      }),
      { numRuns: 150 },
    );
  });

  it('parses every packet of the session into what Postfix meant', () => {
    const p = SESSION.expected;
    expect(parseOptNeg(p[0]!.data)).toEqual({ version: 6, actions: 0x1ff, protocol: 0x1fffff });
    expect(parseMacro(p[1]!.data)).toEqual({
      stage: 'C',
      macros: {
        j: 'mx.example.com',
        daemon_name: 'smtpd',
        v: 'Postfix 3.7.11',
        _: 'client.example.net [192.0.2.10]',
        client_addr: '192.0.2.10',
        client_name: 'client.example.net',
      },
    });
    expect(parseConnect(p[2]!.data)).toEqual({ hostname: 'client.example.net', family: 'inet', port: 54321, address: '192.0.2.10' });
    expect(parseMacro(p[5]!.data).macros['mail_addr']).toBe('sender@example.com');
    expect(parseEnvelope(p[6]!.data)).toEqual({ address: 'sender@example.com', args: ['SIZE=200000', 'BODY=8BITMIME'] });
    expect(parseEnvelope(p[10]!.data)).toEqual({ address: 'b@example.org', args: ['NOTIFY=FAILURE'] });
    expect(parseMacro(p[11]!.data)).toEqual({ stage: 'T', macros: { i: '4Xyz1A2B3C' } });
    expect(parseHeader(p[13]!.data)).toEqual({
      name: 'Received',
      value: 'from client.example.net (client.example.net [192.0.2.10])\n\tby mx.example.com (Postfix) with ESMTPSA id 4Xyz1A2B3C',
    });
    expect(parseMacro(p[23]!.data)).toEqual({ stage: 'N', macros: {} });
  });
});

describe('malformed input', () => {
  it('a length of 0 is a coded error', () => {
    const d = new FrameDecoder();
    expectCoded(() => d.push(Buffer.from([0, 0, 0, 0, 0x41])), 'EMILTER_FRAME_LENGTH');
  });

  it('a length of 0 split over reads is still a coded error', () => {
    const d = new FrameDecoder();
    expect(d.push(Buffer.from([0, 0]))).toEqual([]);
    expectCoded(() => d.push(Buffer.from([0, 0])), 'EMILTER_FRAME_LENGTH');
  });

  it('a length over the limit is refused before anything is allocated', () => {
    const d = new FrameDecoder({ maxPacket: 1000 });
    expect(d.push(frame('B', Buffer.alloc(999))).length).toBe(1); // exactly at the limit: fine
    expectCoded(() => d.push(Buffer.from([0, 0, 0x03, 0xe9, 0x42])), 'EMILTER_FRAME_LENGTH');
    // The default limit refuses a 4 GiB claim at once.
    expectCoded(() => new FrameDecoder().push(Buffer.from([0xff, 0xff, 0xff, 0xff])), 'EMILTER_FRAME_LENGTH');
  });

  it('after a framing error the decoder refuses further input instead of resynchronising on garbage', () => {
    const d = new FrameDecoder({ maxPacket: 100 });
    expect(() => d.push(Buffer.from([0, 0, 1, 0]))).toThrow(CodedError);
    expect(() => d.push(frame('A'))).toThrow(CodedError);
  });

  it('decode() hands back the whole packets before a bad length in the same chunk, with the error', () => {
    const d = new FrameDecoder({ maxPacket: 100 });
    const { packets, error } = d.decode(Buffer.concat([frame('M', '<a@x>\0'), frame('E'), Buffer.from([0, 0, 1, 0, 0x42])]));
    expect(packets.map((p) => p.code)).toEqual(['M', 'E']);
    expect(error?.code).toBe('EMILTER_FRAME_LENGTH');
    expect(d.decode(frame('A'))).toMatchObject({ packets: [], error: { code: 'EMILTER_DECODER_FAILED' } });
  });

  it('a truncated packet yields nothing and reports pending bytes, and completes when the rest arrives', () => {
    const whole = frame('L', 'Subject\0hello\0');
    for (let cut = 1; cut < whole.length; cut++) {
      const d = new FrameDecoder();
      expect(d.push(whole.subarray(0, cut))).toEqual([]);
      expect(d.pendingBytes, `after ${cut} of ${whole.length} bytes`).toBe(cut);
      // ... and completes when the rest arrives.
      const rest = d.push(whole.subarray(cut));
      expect(rest).toHaveLength(1);
      expect(parseHeader(rest[0]!.data)).toEqual({ name: 'Subject', value: 'hello' });
      expect(d.pendingBytes).toBe(0);
    }
  });

  it('a packet cut right after its 4 length bytes still reports them as pending', () => {
    for (const read of [[frame('L', 'Subject\0hello\0').subarray(0, 4)], [frame('B', 'x').subarray(0, 2), frame('B', 'x').subarray(2, 4)]]) {
      const d = new FrameDecoder();
      for (const r of read) expect(d.push(r)).toEqual([]);
      expect(d.pendingBytes).toBe(4);
    }
  });

  it('an unknown command is framed like any other', () => {
    const packets = new FrameDecoder().push(Buffer.concat([frame('Z', 'whatever'), frame('A')]));
    expect(packets.map((p) => p.code)).toEqual(['Z', 'A']);
    expect(packets[0]!.data.toString()).toBe('whatever');
  });

  it('unpaired macro strings: the pairs are kept, the odd name dropped', () => {
    expect(parseMacro(decodeOne(frame('D', 'C', 'j\0mx\0{daemon_name}\0')).data)).toEqual({ stage: 'C', macros: { j: 'mx' } });
    // The last value without its NUL is still read.
    expect(parseMacro(decodeOne(frame('D', 'T', 'i\0ABC')).data)).toEqual({ stage: 'T', macros: { i: 'ABC' } });
  });

  it('MACRO with an empty payload or only a stage byte', () => {
    expect(parseMacro(decodeOne(frame('D')).data)).toEqual({ stage: '', macros: {} });
    expect(parseMacro(decodeOne(frame('D', 'E')).data)).toEqual({ stage: 'E', macros: {} });
  });

  it('HEADER without a NUL: a name and an empty value', () => {
    expect(parseHeader(decodeOne(frame('L', 'X-Broken')).data)).toEqual({ name: 'X-Broken', value: '' });
    expect(parseHeader(Buffer.alloc(0))).toEqual({ name: '', value: '' });
    // Value without its trailing NUL.
    expect(parseHeader(decodeOne(frame('L', 'Subject\0no nul')).data)).toEqual({ name: 'Subject', value: 'no nul' });
  });

  it('CONNECT truncated anywhere: a lenient result, never a throw', () => {
    expect(parseConnect(decodeOne(frame('C', 'host\0', '4')).data)).toEqual({ hostname: 'host', family: 'inet', port: 0, address: '' });
    expect(parseConnect(decodeOne(frame('C', 'host\0', '6', [0])).data)).toMatchObject({ hostname: 'host', family: 'inet6', address: '' });
    expect(parseConnect(decodeOne(frame('C', 'host\0')).data)).toMatchObject({ hostname: 'host', family: 'unknown' });
    expect(parseConnect(decodeOne(frame('C', 'host-without-nul')).data)).toMatchObject({ hostname: 'host-without-nul', family: 'unknown' });
    expect(parseConnect(Buffer.alloc(0))).toMatchObject({ hostname: '', family: 'unknown' });
    const full = frame('C', 'client\0', '4', [0, 25], '192.0.2.1\0').subarray(5);
    for (let cut = 0; cut <= full.length; cut++) {
      const r = parseConnect(full.subarray(0, cut));
      expect(typeof r.hostname).toBe('string');
      expect(r.port).toBeGreaterThanOrEqual(0);
    }
  });

  it('OPTNEG shorter than 12 bytes is a coded error', () => {
    expectCoded(() => parseOptNeg(Buffer.from(be32(6))), 'EMILTER_OPTNEG');
    expectCoded(() => parseOptNeg(Buffer.alloc(0)), 'EMILTER_OPTNEG');
  });

  it('every parser survives arbitrary bytes: a value or a CodedError, nothing else', () => {
    const parsers = [parseConnect, parseEnvelope, parseHeader, parseMacro, parseSingleString, parseOptNeg];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        for (const parse of parsers) {
          try {
            parse(Buffer.from(bytes));
          } catch (err) {
            expect(err).toBeInstanceOf(CodedError);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('the decoder on arbitrary bytes: packets, pending bytes, or a CodedError', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 10 }), (reads) => {
        const d = new FrameDecoder({ maxPacket: 4096 });
        try {
          for (const r of reads) {
            for (const p of d.push(Buffer.from(r))) expect(p.code.length).toBe(1);
          }
          expect(d.pendingBytes).toBeGreaterThanOrEqual(0);
        } catch (err) {
          expect(err).toBeInstanceOf(CodedError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
