import fc from 'fast-check';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRequestHead } from '../../src/redirector/request-head.js';

const read = (head: string, maxTarget = 8192) => readRequestHead(head, maxTarget);

describe('readRequestHead', () => {
  it('reads a plain GET and HEAD with the headers the redirector uses', () => {
    expect(read('GET /c/abc?x=1 HTTP/1.1\r\nHost: t.example:8080\r\nUser-Agent:  Mozilla/5.0 (X)  \r\nAccept: */*')).toEqual({
      isHead: false,
      target: '/c/abc?x=1',
      host: 't.example:8080',
      userAgent: 'Mozilla/5.0 (X)',
      forwardedFor: undefined,
      close: false,
    });
    expect(read('HEAD /o/x HTTP/1.1\r\nhost: a')).toMatchObject({ isHead: true, host: 'a' });
  });

  it('joins X-Forwarded-For lines as node does and reads Connection options', () => {
    const head = read('GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 192.0.2.1\r\nx-forwarded-for: 198.51.100.2\r\nConnection: keep-alive, Close');
    expect(head).toMatchObject({ forwardedFor: '192.0.2.1, 198.51.100.2', close: true });
    expect(read('GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0')).not.toBeNull();
  });

  const refused: [string, string][] = [
    ['another method', 'POST / HTTP/1.1\r\nHost: a'],
    ['lower-case method', 'get / HTTP/1.1\r\nHost: a'],
    ['HTTP/1.0', 'GET / HTTP/1.0\r\nHost: a'],
    ['absolute-form target', 'GET http://a/ HTTP/1.1\r\nHost: a'],
    ['two spaces', 'GET  / HTTP/1.1\r\nHost: a'],
    ['non-ASCII in the target', 'GET /\xe9 HTTP/1.1\r\nHost: a'],
    ['a target over the limit', `GET /${'a'.repeat(100)} HTTP/1.1\r\nHost: a`],
    ['no Host', 'GET / HTTP/1.1\r\nAccept: */*'],
    ['an empty Host', 'GET / HTTP/1.1\r\nHost: '],
    ['two Hosts', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b'],
    ['two User-Agents', 'GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: x\r\nUser-Agent: y'],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: x\r\n y'],
    ['a bare LF', 'GET / HTTP/1.1\nHost: a'],
    ['a bare LF between headers', 'GET / HTTP/1.1\r\nHost: a\nUser-Agent: x'],
    ['a bare CR in a value', 'GET / HTTP/1.1\r\nHost: a\rb'],
    ['a control byte in a value', 'GET / HTTP/1.1\r\nHost: a\x01'],
    ['obs-text in a value', 'GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: \xff'],
    ['a space before the colon', 'GET / HTTP/1.1\r\nHost : a'],
    ['an empty header name', 'GET / HTTP/1.1\r\nHost: a\r\n: x'],
    ['a body by length', 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5'],
    ['two lengths', 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0'],
    ['a chunked body', 'GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked'],
    ['Expect', 'GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue'],
    ['Upgrade', 'GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket'],
    ['an Upgrade header alone', 'GET / HTTP/1.1\r\nHost: a\r\nupgrade: h2c'],
    ['a DEL in a value', 'GET / HTTP/1.1\r\nHost: a\r\nAccept: a\x7f'],
    ['an empty line inside', 'GET / HTTP/1.1\r\nHost: a\r\n\r\nX: y'],
  ];
  it.each(refused)('leaves %s to node:http', (_why, head) => {
    expect(read(head, 64)).toBeNull();
  });
});

// The reader as the fast front ran it before the single pass, checked against node:http by the test
// below: a regex with captures on each line. The single-pass reader is held to it.
const LINE_BY_LINE_REQUEST = /^(GET|HEAD) (\/[\x21-\x7e]*) HTTP\/1\.1$/;
const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*((?:[\x21-\x7e](?:[ \t]*[\x21-\x7e])*)?)[ \t]*$/;

function readByLines(head: string, maxTargetLength: number): ReturnType<typeof readRequestHead> {
  let lineEnd = head.indexOf('\r\n');
  if (lineEnd === -1) lineEnd = head.length;
  const requestLine = LINE_BY_LINE_REQUEST.exec(head.slice(0, lineEnd));
  if (!requestLine) return null;
  const target = requestLine[2]!;
  if (target.length > maxTargetLength) return null;

  let host: string | undefined;
  let userAgent: string | undefined;
  let forwardedFor: string | undefined;
  let close = false;
  let sawLength = false;
  for (let at = lineEnd + 2; at < head.length;) {
    let end = head.indexOf('\r\n', at);
    if (end === -1) end = head.length;
    const header = HEADER_LINE.exec(head.slice(at, end));
    if (!header) return null;
    at = end + 2;
    const value = header[2]!;
    switch (header[1]!.toLowerCase()) {
      case 'host':
        if (host !== undefined || value === '') return null;
        host = value;
        break;
      case 'user-agent':
        if (userAgent !== undefined) return null;
        userAgent = value;
        break;
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        break;
      case 'connection': {
        const options = value
          .toLowerCase()
          .split(',')
          .map((option) => option.trim());
        if (options.includes('upgrade')) return null;
        if (options.includes('close')) close = true;
        break;
      }
      case 'content-length':
        if (value !== '0' || sawLength) return null;
        sawLength = true;
        break;
      // A body, a protocol switch or a 100-continue handshake: node:http's business.
      case 'transfer-encoding':
      case 'upgrade':
      case 'expect':
        return null;
    }
  }
  if (host === undefined) return null; // node:http answers 400, as HTTP/1.1 asks
  return { isHead: requestLine[1] === 'HEAD', target, host, userAgent, forwardedFor, close };
}

describe('readRequestHead against the line-by-line reader', () => {
  const names = [
    'Host',
    'HOST',
    'hOsT',
    'Hostx',
    'Hos',
    'Host-Name',
    'User-Agent',
    'user-agent',
    'USER-AGENT',
    'User-Agents',
    'User_Agent',
    'Upgrade',
    'Upgrade-Insecure-Requests',
    'X-Forwarded-For',
    'x-forwarded-for',
    'X-Forwarded-Fort',
    'Connection',
    'CONNECTION',
    'Connections',
    'Content-Length',
    'content-length',
    'Content-Lengthy',
    'Content-Type',
    'Transfer-Encoding',
    'transfer-encodings',
    'Expect',
    'EXPECT',
    'Expected',
    'Accept',
    'Cookie',
    'sec-ch-ua',
    'Sec-Fetch-Mode',
    'e',
    'c',
    'u',
    'h',
    'x',
    't',
    'X',
    '!#$%&',
    '~',
    'H@st',
    'Ho st',
    '',
    ' Host',
  ];
  const values = [
    '',
    ' ',
    '\t',
    'a',
    ' a ',
    '0',
    '00',
    '5',
    'keep-alive',
    'close',
    'Keep-Alive, Upgrade',
    ' close , x',
    'websocket',
    'chunked',
    '100-continue',
    '192.0.2.1',
    ' 10.0.0.1, 10.0.0.2 ',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0',
    '"Chromium";v="131"',
    'a\tb',
    'a\x01',
    'caf\xe9',
    'a\rb',
    'a\nb',
    ':',
    'x:y',
  ];
  const lines = ['GET /c/tok?utm_source=news HTTP/1.1', 'HEAD /o/tok HTTP/1.1', 'GET / HTTP/1.0', 'POST / HTTP/1.1', 'GET /\x7f HTTP/1.1'];
  // Mostly well-formed lines, so that most heads pass as a whole and the fields are really compared;
  // one bad piece among them must make both readers refuse.
  const goodValue = fc.constantFrom(...values.filter((v) => /^[\t\x20-\x7e]*$/.test(v)));
  const badValue = fc.constantFrom(...values.filter((v) => !/^[\t\x20-\x7e]*$/.test(v)), 'a\x7f', '\x00');
  const header = fc
    .tuple(
      fc.constantFrom(...names),
      fc.oneof({ weight: 8, arbitrary: fc.constantFrom(':', ': ', ':\t') }, fc.constantFrom(' :', '')),
      fc.oneof({ weight: 12, arbitrary: goodValue }, badValue),
    )
    .map(([n, colon, v]) => n + colon + v);
  // Lines the readers act on, put in at random places, so that heads with each of them pass often.
  const fields = fc.subarray(['Host: t.example', 'Connection: close', 'user-agent: curl/8.0', 'X-Forwarded-For: 192.0.2.9', 'Content-Length: 0'], {
    minLength: 1,
  });
  const head = fc
    .tuple(
      fc.constantFrom(...lines),
      fc.array(fc.oneof({ weight: 20, arbitrary: header }, fc.string({ unit: 'binary-ascii', maxLength: 12 })), { maxLength: 8 }),
      fields,
      fc.nat(8),
    )
    .map(([line, headers, known, at]) => [line, ...headers.slice(0, at), ...known, ...headers.slice(at)].join('\r\n'));

  it('reads every head as the line-by-line reader does', () => {
    fc.assert(
      fc.property(head, fc.integer({ min: 1, max: 64 }), (text, maxTarget) => {
        expect(readRequestHead(text, maxTarget)).toEqual(readByLines(text, maxTarget));
      }),
      { numRuns: 20_000 },
    );
    // The comparison ran on heads both readers accept, with each field the readers look for.
    const accepted = fc
      .sample(head, { numRuns: 2000, seed: 7 })
      .map((text) => readByLines(text, 64))
      .filter((read) => read !== null);
    expect(accepted.length).toBeGreaterThan(100);
    expect(accepted.filter((read) => read.userAgent !== undefined).length).toBeGreaterThan(10);
    expect(accepted.filter((read) => read.forwardedFor !== undefined).length).toBeGreaterThan(10);
    expect(accepted.filter((read) => read.close).length).toBeGreaterThan(5);
  });

  it('reads a browser head as the line-by-line reader does', () => {
    const chrome = [
      'GET /c/EQELkyP2wrEbOU52RjUP?utm_source=news&utm_medium=email HTTP/1.1',
      'Host: click.example.com',
      'Connection: keep-alive',
      'sec-ch-ua: "Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
      'sec-ch-ua-mobile: ?0',
      'Upgrade-Insecure-Requests: 1',
      'User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'Sec-Fetch-Dest: document',
      'Accept-Encoding: gzip, deflate, br, zstd',
      'Accept-Language: en-US,en;q=0.9',
    ].join('\r\n');
    expect(readRequestHead(chrome, 8192)).toEqual(readByLines(chrome, 8192));
    expect(readRequestHead(chrome, 8192)).toMatchObject({
      host: 'click.example.com',
      userAgent: expect.stringContaining('Chrome/131') as unknown,
      close: false,
    });
  });
});

/**
 * The outside opinion: heads built at random from good and bad pieces go to node:http too. Whatever the
 * reader accepts, node must accept with the same method, target, Host, User-Agent and X-Forwarded-For.
 */
describe('readRequestHead against node:http', () => {
  let server: http.Server;
  let port = 0;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const h = req.headers;
      res.end(JSON.stringify({ method: req.method, target: req.url, host: h.host, userAgent: h['user-agent'], forwardedFor: h['x-forwarded-for'] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function ask(head: string): Promise<string> {
    return new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      socket.end(Buffer.from(`${head}\r\n\r\n`, 'latin1'));
    });
  }

  const lines = ['GET /c/tok HTTP/1.1', 'HEAD /o/tok?a=b HTTP/1.1', 'GET /x%20y HTTP/1.1', 'GET /\x7f HTTP/1.1', 'GET / HTTP/1.0', 'GET /a\tb HTTP/1.1'];
  const headers = [
    'Host: t.example',
    'host:t.example:80',
    'Host: a b',
    'User-Agent: Mozilla/5.0 (Macintosh)',
    'User-Agent:\tcurl/8.0\t',
    'X-Forwarded-For: 192.0.2.7',
    'X-Forwarded-For: 10.0.0.1, 10.0.0.2',
    'Accept: */*',
    'Cookie: a=b; c=d',
    'Connection: keep-alive',
    'X-Empty:',
    'Bad Header: x',
    'X-Ctl: a\x0bb',
    ' folded',
    'X-Obs: caf\xe9',
    'Content-Length: 0',
  ];

  it('never accepts what node refuses, and reads what both accept the same way', async () => {
    let seed = 20261122;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let bothAccepted = 0;
    for (let i = 0; i < 300; i++) {
      const picked = Array.from({ length: random(5) }, () => headers[random(headers.length)]!);
      const head = [lines[random(lines.length)]!, ...picked].join('\r\n');
      const ours = readRequestHead(head, 8192);
      if (ours === null) continue;
      const answer = await ask(head);
      expect(answer.startsWith('HTTP/1.1 200'), `node refused what we accepted: ${JSON.stringify(head)}`).toBe(true);
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, string | undefined>;
      expect(body, JSON.stringify(head)).toEqual({
        method: ours.isHead ? 'HEAD' : 'GET',
        target: ours.target,
        host: ours.host,
        userAgent: ours.userAgent,
        forwardedFor: ours.forwardedFor,
      });
      bothAccepted += 1;
    }
    expect(bothAccepted).toBeGreaterThan(30); // the comparison really ran
  });
});
