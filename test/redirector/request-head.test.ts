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
    ['an empty line inside', 'GET / HTTP/1.1\r\nHost: a\r\n\r\nX: y'],
  ];
  it.each(refused)('leaves %s to node:http', (_why, head) => {
    expect(read(head, 64)).toBeNull();
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
