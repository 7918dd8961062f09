// The redirector of a real `serve` daemon under abuse, with real tokens from a message it rewrote:
// tampered and foreign tokens, hostile destinations in the mail itself, oversized and slow requests,
// thousands of junk paths, and the admin API without its token.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKeyring,
  decodeToken,
  loadKeyring,
  mintStatefulClick,
  mintStatefulOpen,
  mintStatelessClick,
  mintStatelessOpen,
  signingKey,
  type Keyring,
} from '../../src/tokens/index.js';
import { CLI_BUILT, DaemonProcess, TempDirs, cli } from './helpers/processes.js';
import { BROWSER_UA, SEND, buildNewsletter, hrefsOf, readRewritten, type HtmlAnchor, type RewrittenNewsletter } from './helpers/newsletter.js';
import { browse, isOnePixelGif, rawExchange, requestTarget, sendThroughMilter } from './helpers/traffic.js';

/** Destinations a sender (or an attacker writing the mail) may put in hrefs. */
const HOSTILE_ANCHORS: HtmlAnchor[] = [
  { href: 'https://shop.example/landing?campaign=autumn&step=1', tracked: true },
  { href: 'https://example.com/a%0d%0aSet-Cookie:x', tracked: true },
  { href: 'https://example.com/q?x=%0D%0ASet-Cookie:%20y=1&next=%0aLocation:%20https://evil.example/', tracked: true },
  { href: 'https://example.com/ä ö', tracked: true },
  { href: 'https://example.com/tab\there/new\nline?q=1\r\nSet-Cookie: z=1', tracked: true },
  { href: 'https://例え.テスト/パス?ü=1', tracked: true },
  { href: 'https://example.com/\u2028separator\u0085next', tracked: true },
  { href: 'javascript:alert(document.cookie)', tracked: false },
  { href: 'JavaScript:alert(1)', tracked: false },
  { href: ' javascript:alert(1)', tracked: false },
  { href: 'java\tscript:alert(1)', tracked: false },
  { href: 'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==', tracked: false },
  { href: 'DATA:text/html,<script>alert(1)</script>', tracked: false },
];

const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_~';

/** Token text <-> bytes as links spell them (base64url with '~' for '-'). */
const tokenBytes = (token: string): Buffer => Buffer.from(token.replaceAll('~', '-'), 'base64url');
const tokenText = (bytes: Buffer): string => bytes.toString('base64url').replaceAll('-', '~');

/** Deterministic pseudo-random numbers (xorshift32), so a failing junk path can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

function tokenOf(link: string): string {
  const match = /\/[co]\/([^?]+)/.exec(link);
  if (!match) throw new Error(`not a compact link: ${link}`);
  return match[1]!;
}

/** Does the raw response head carry only what a well-formed head can (no bare CR or LF, visible ASCII)? */
function headIsClean(head: string): boolean {
  return head.split('\r\n').every((line) => /^[\x20-\x7e]*$/.test(line));
}

function headerValues(headLines: string[], name: string): string[] {
  return headLines
    .slice(1)
    .filter((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    .map((line) => line.slice(name.length + 1).trim());
}

describe.skipIf(!CLI_BUILT)('redirector abuse against a real serve daemon', () => {
  const dirs = new TempDirs();
  let daemon: DaemonProcess;
  let rewritten: RewrittenNewsletter;
  let outputHrefs: string[];
  let clickToken: string;
  let clickLink: string;
  let openToken: string;
  let daemonKeyring: Keyring;
  // The slow client is started first so that its wait overlaps the other tests.
  let slowClient: Promise<{ closedAfterMs: number; answer: string }>;

  beforeAll(async () => {
    const dataDir = path.join(await dirs.make(), 'data');
    daemon = await DaemonProcess.start({ role: 'serve', dataDir, configToml: '[http]\nfast_click_seconds = 0\n' });
    slowClient = new Promise((resolve) => {
      const socket = net.connect(daemon.httpPort, '127.0.0.1');
      let answer = '';
      let sentAt = 0;
      socket.on('connect', () => {
        socket.write('GET /c/AAAA');
        sentAt = Date.now();
      });
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve({ closedAfterMs: Date.now() - sentAt, answer }));
      // Never waits longer than the assertion's bound, whatever the server does.
      setTimeout(() => socket.destroy(), 16_000).unref();
    });

    const message = buildNewsletter({
      anchors: HOSTILE_ANCHORS,
      textUrls: ['https://shop.example/text-only?from=text', 'https://example.com/ä'],
    });
    const result = await sendThroughMilter(daemon.milterPort, message);
    if (!result.body) throw new Error(`no body from the milter; ${daemon.diagnostics()}`);
    rewritten = readRewritten(result.body, daemon.baseUrl);
    outputHrefs = hrefsOf(rewritten.html.text);
    clickLink = rewritten.htmlClicks[0]!;
    clickToken = tokenOf(clickLink);
    openToken = tokenOf(rewritten.pixels[0]!);
    daemonKeyring = await loadKeyring(dataDir);
  });
  afterAll(async () => {
    await daemon?.stop();
    await dirs.cleanup();
  });

  describe('tokens that are not ours', () => {
    const expectRefused = async (token: string, what: string): Promise<void> => {
      const click = await browse(`${daemon.baseUrl}/c/${token}`);
      expect(click.status, `${what}: ${token}`).toBe(404);
      expect(click.location, what).toBeNull();
      const open = await browse(`${daemon.baseUrl}/o/${token}`);
      expect(open.status, `${what} as an open`).toBe(200);
      expect(isOnePixelGif(open.body), what).toBe(true);
    };

    it('the genuine click token redirects (the baseline the tampered ones are compared with)', async () => {
      // With a forged X-Forwarded-For: no proxy is trusted by default, so it must not become the client.
      const answer = await browse(clickLink, { headers: { 'X-Forwarded-For': '203.0.113.66' } });
      expect(answer.status).toBe(302);
      expect(answer.location).toBe(HOSTILE_ANCHORS[0]!.href);
    });

    it('a genuine link asked for under a Host that is not ours -> 404 for the click, no open recorded', async () => {
      const click = await rawExchange(daemon.httpPort, `GET ${requestTarget(clickLink)} HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`);
      expect(click.headLines[0]).toMatch(/^HTTP\/1\.1 404 /);
      expect(headerValues(click.headLines, 'Location')).toEqual([]);
      const open = await rawExchange(daemon.httpPort, `GET /o/${openToken} HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`);
      // Not our host: refusing outright (404) or still handing out the GIF are both fine; recording is
      // not (checked with the events below).
      if (!/^HTTP\/1\.1 404 /.test(open.headLines[0]!)) {
        expect(open.headLines[0]).toMatch(/^HTTP\/1\.1 200 /);
        expect(isOnePixelGif(open.body)).toBe(true);
      }
    });

    it('forged: random token text, and genuine frame bytes with a random rest -> 404, no Location', async () => {
      const random = prng(0x5eed);
      const genuine = tokenBytes(clickToken);
      for (let i = 0; i < 20; i++) {
        const length = 10 + Math.floor(random() * 80);
        const text = Array.from({ length }, () => TOKEN_ALPHABET[Math.floor(random() * TOKEN_ALPHABET.length)]).join('');
        await expectRefused(text, 'random text');
        const sameFrame = Buffer.concat([genuine.subarray(0, 2), randomBytes(genuine.length - 2)]);
        await expectRefused(tokenText(sameFrame), 'genuine frame, random body and MAC');
      }
    });

    it('truncated: every shorter prefix of a genuine click token -> 404, no Location', async () => {
      for (let length = 1; length < clickToken.length; length++) await expectRefused(clickToken.slice(0, length), `prefix of ${length}`);
    });

    it('bit-flipped: ~50 single-bit changes spread over a genuine click token -> 404, no Location', async () => {
      const genuine = tokenBytes(clickToken);
      const bits = genuine.length * 8;
      // Evenly spread, plus both ends of the frame header (format, key id) and of the MAC.
      const positions = new Set<number>([0, 7, 8, 15, bits - 8, bits - 1]);
      for (let i = 0; i < 50; i++) positions.add(Math.floor((i * bits) / 50));
      expect(positions.size).toBeGreaterThanOrEqual(50);
      for (const bit of positions) {
        const flipped = Buffer.from(genuine);
        flipped[bit >> 3]! ^= 0x80 >> (bit & 7);
        await expectRefused(tokenText(flipped), `bit ${bit} flipped`);
      }
    });

    it('cross-key: tokens minted by another keyring (same key id, and another) -> 404, no Location', async () => {
      const kid = daemonKeyring.current.kid;
      const foreignKeyrings = [
        createKeyring([signingKey(kid, randomBytes(32))], kid),
        createKeyring([signingKey((kid + 1) % 256, randomBytes(32))], (kid + 1) % 256),
      ];
      const identity = { recipient: SEND.recipient, sendId: SEND.sendId, listId: SEND.listId, emailCode: SEND.emailCode };
      for (const keyring of foreignKeyrings) {
        const genuine = tokenBytes(clickToken);
        const tokens = [
          mintStatelessClick(keyring, { ...identity, url: 'https://evil.example/phish', position: 1, part: 'h' }),
          mintStatelessOpen(keyring, identity),
          mintStatefulClick(keyring, { rowId: genuine.subarray(2, 14), messageId: randomBytes(9), position: 1, part: 'h' }),
          mintStatefulOpen(keyring, { messageId: randomBytes(9) }),
        ];
        for (const token of tokens) await expectRefused(token, `kid ${keyring.current.kid}`);
      }
    });

    it('a correctly signed stateful token whose row does not exist (swept, or never stored) -> 404', async () => {
      const token = mintStatefulClick(daemonKeyring, { rowId: randomBytes(12), messageId: randomBytes(9), position: 1, part: 'h' });
      await expectRefused(token, 'unknown row');
    });

    it('none of the refused requests was recorded as an event of the send', async () => {
      const events = (await cli(['events', '--sendid', SEND.sendId, ...daemon.cliFlags])).split('\n').filter(Boolean);
      for (const line of events) expect(JSON.parse(line)).not.toMatchObject({ url: 'https://evil.example/phish' });
      // The baseline click above is the only event so far, and its client is the socket's address.
      expect(events.map((line) => JSON.parse(line) as Record<string, unknown>)).toMatchObject([
        { type: 'click', ip: '127.0.0.1', url: HOSTILE_ANCHORS[0]!.href },
      ]);
    });
  });

  describe('genuine tokens as link scanners re-encode them', () => {
    // Some link scanners and old encoders write '~' as %7E; such a click must still count and redirect.
    it('a genuine click token with its "~" written as %7E still redirects', async () => {
      const genuine = decodeToken(daemonKeyring, clickToken);
      if (!genuine.ok || genuine.kind !== 'stateful-click') throw new Error(`the first link is not a stateful click: ${JSON.stringify(genuine)}`);
      // The same link (same row, same message) at other positions, until one spells a '~'.
      let token = clickToken;
      for (let position = 1; !token.includes('~'); position++) {
        token = mintStatefulClick(daemonKeyring, { rowId: genuine.rowId, messageId: genuine.messageId, part: genuine.part, position });
      }
      const plain = await browse(`${daemon.baseUrl}/c/${token}`);
      expect(plain.status).toBe(302);
      const escaped = await browse(`${daemon.baseUrl}/c/${token.replaceAll('~', '%7E')}`);
      expect(escaped.status).toBe(302);
      // No query carried in these links: both lead to the row's URL.
      expect(escaped.location).toBe(plain.location);
      expect(escaped.location).toBe(new URL(HOSTILE_ANCHORS[0]!.href.split('?')[0]!).href);
    });
  });

  describe('hostile destinations in the message', () => {
    it('never rewrites javascript: or data: hrefs (whatever their case or whitespace); every other href is rewritten or left exactly as it was', () => {
      expect(outputHrefs).toHaveLength(HOSTILE_ANCHORS.length);
      HOSTILE_ANCHORS.forEach((anchor, i) => {
        const out = outputHrefs[i]!;
        const normalise = (s: string): string => s.replace(/\r\n/g, '\n');
        if (!anchor.tracked) expect(normalise(out), JSON.stringify(anchor.href)).toBe(normalise(anchor.href));
        else if (!out.startsWith(`${daemon.baseUrl}/c/`)) expect(normalise(out), `left alone: ${JSON.stringify(anchor.href)}`).toBe(normalise(anchor.href));
      });
      // The plain URLs with encoded CR/LF are ordinary URLs and must be tracked.
      for (const i of [0, 1, 2]) expect(outputHrefs[i]!.startsWith(`${daemon.baseUrl}/c/`), HOSTILE_ANCHORS[i]!.href).toBe(true);
    });

    it('every rewritten link answers a clean head: one visible-ASCII Location, the WHATWG form of the original, no injected header', async () => {
      const links: Array<{ link: string; original: string }> = [];
      HOSTILE_ANCHORS.forEach((anchor, i) => {
        if (outputHrefs[i]!.startsWith(`${daemon.baseUrl}/c/`)) links.push({ link: outputHrefs[i]!, original: anchor.href });
      });
      expect(rewritten.textClicks).toHaveLength(2);
      links.push({ link: rewritten.textClicks[0]!, original: 'https://shop.example/text-only?from=text' });
      links.push({ link: rewritten.textClicks[1]!, original: 'https://example.com/ä' });
      for (const { link, original } of links) {
        const { head, headLines } = await rawExchange(
          daemon.httpPort,
          `GET ${requestTarget(link)} HTTP/1.1\r\nHost: ${daemon.httpAddress}\r\nUser-Agent: ${BROWSER_UA}\r\nConnection: close\r\n\r\n`,
        );
        const what = JSON.stringify(original);
        expect(headLines[0], what).toMatch(/^HTTP\/1\.1 302 /);
        expect(headIsClean(head), `${what}: ${JSON.stringify(head)}`).toBe(true);
        expect(headerValues(headLines, 'Set-Cookie'), what).toEqual([]);
        const locations = headerValues(headLines, 'Location');
        expect(locations, what).toHaveLength(1);
        expect(locations[0], what).toMatch(/^https?:\/\/[\x21-\x7e]+$/);
        expect(locations[0], what).toBe(new URL(original).href);
      }
    });

    it('a query string added to a genuine link cannot change where it goes (host, scheme, path) nor inject a header', async () => {
      const original = new URL(HOSTILE_ANCHORS[0]!.href);
      const target = requestTarget(clickLink).split('?')[0]!;
      const queries = [
        '?@evil.example',
        '?x=%0d%0aLocation:%20https://evil.example/',
        '?/../../evil.example',
        '?#@evil.example',
        '?a=1%23frag',
        '?\\\\evil.example/',
      ];
      for (const query of queries) {
        const { head, headLines } = await rawExchange(
          daemon.httpPort,
          `GET ${target}${query} HTTP/1.1\r\nHost: ${daemon.httpAddress}\r\nConnection: close\r\n\r\n`,
        );
        expect(headIsClean(head), query).toBe(true);
        if (!headLines[0]!.startsWith('HTTP/1.1 302')) {
          expect(headLines[0], query).toMatch(/^HTTP\/1\.1 4\d\d /);
          continue;
        }
        const location = new URL(headerValues(headLines, 'Location')[0]!);
        expect(location.origin, query).toBe(original.origin);
        expect(location.pathname, query).toBe(original.pathname);
        expect(location.username + location.password, query).toBe('');
      }
    });
  });

  describe('request limits', () => {
    it('a request line over the URL limit -> 414', async () => {
      for (const length of [9_000, 20_000]) {
        const { headLines } = await rawExchange(
          daemon.httpPort,
          `GET /c/${'A'.repeat(length)} HTTP/1.1\r\nHost: ${daemon.httpAddress}\r\nConnection: close\r\n\r\n`,
        );
        expect(headLines[0], `${length} bytes`).toMatch(/^HTTP\/1\.1 414 /);
      }
    });

    it('headers over the header limit -> 431', async () => {
      const cookie = `GET /c/${clickToken} HTTP/1.1\r\nHost: ${daemon.httpAddress}\r\nCookie: ${'c'.repeat(20_000)}\r\nConnection: close\r\n\r\n`;
      expect((await rawExchange(daemon.httpPort, cookie)).headLines[0]).toMatch(/^HTTP\/1\.1 431 /);
      const many = Array.from({ length: 600 }, (_, i) => `X-Filler-${i}: ${'v'.repeat(40)}\r\n`).join('');
      const manyHeaders = `GET /c/${clickToken} HTTP/1.1\r\nHost: ${daemon.httpAddress}\r\nConnection: close\r\n${many}\r\n`;
      expect((await rawExchange(daemon.httpPort, manyHeaders)).headLines[0]).toMatch(/^HTTP\/1\.1 431 /);
    });
  });

  describe('junk', () => {
    it('10,000 random paths over keep-alive connections: no 5xx, no dropped connection, and the daemon still answers', async () => {
      const seed = 0xc0ffee;
      const random = prng(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
      const junk = (alphabet: string, max: number): string =>
        Array.from({ length: Math.floor(random() * max) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      // Every byte node lets into a request line (0x21-0xff), raw.
      const anyByte = Array.from({ length: 0xff - 0x20 }, (_, i) => String.fromCharCode(0x21 + i)).join('');
      const percent = (): string =>
        `%${Math.floor(random() * 256)
          .toString(16)
          .padStart(2, '0')}`;
      const flippedToken = (): string => {
        const bytes = tokenBytes(pick([clickToken, openToken]));
        const bit = Math.floor(random() * bytes.length * 8);
        bytes[bit >> 3]! ^= 0x80 >> (bit & 7);
        return tokenText(bytes);
      };
      const makePath: Array<() => string> = [
        () => `/${junk(anyByte, 60)}`,
        () =>
          `/${Array.from({ length: 1 + Math.floor(random() * 12) }, () => pick(['.', '..', '%2e', '%2E%2e', '/', '%2f', '\\', percent(), junk(anyByte, 6)])).join('/')}`,
        () => `/c/${junk(TOKEN_ALPHABET, 120)}`,
        () => `/o/${junk(TOKEN_ALPHABET, 120)}`,
        () => `/c/${junk(anyByte, 40)}`,
        () => `/o/${junk(anyByte, 40)}`,
        () => `/x/y-${junk(TOKEN_ALPHABET, 120)}`,
        () => `/${junk(anyByte, 20)}/${junk(anyByte, 20)}-${junk(TOKEN_ALPHABET, 80)}`,
        () => `/c/${flippedToken()}`,
        () => `/o/${flippedToken()}`,
        () => `/c/${clickToken}?${junk(anyByte, 80)}`,
        () => `/c/${Array.from({ length: 1 + Math.floor(random() * 20) }, percent).join('')}`,
        () => `/admin/${junk(anyByte, 30)}`,
        () => `/healthz${pick(['/', '?', '/..', '%00', '#'])}${junk(anyByte, 10)}`,
      ];
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      const statuses = new Map<number, number>();
      const failures: string[] = [];
      const requests = Array.from({ length: 10_000 }, () => ({ method: random() < 0.1 ? 'HEAD' : random() < 0.02 ? 'POST' : 'GET', path: pick(makePath)() }));
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < requests.length) {
          const { method, path: target } = requests[next++]!;
          await new Promise<void>((resolve) => {
            const req = http.request(
              { agent, host: '127.0.0.1', port: daemon.httpPort, method, path: target, headers: { 'User-Agent': BROWSER_UA } },
              (res) => {
                const status = res.statusCode ?? 0;
                statuses.set(status, (statuses.get(status) ?? 0) + 1);
                if (status >= 500) failures.push(`${status} ${method} ${JSON.stringify(target)}`);
                res.resume();
                res.on('end', resolve);
                res.on('error', () => resolve());
              },
            );
            req.on('error', (err) => {
              failures.push(`${err.message} ${method} ${JSON.stringify(target)}`);
              resolve();
            });
            req.end();
          });
        }
      };
      try {
        await Promise.all(Array.from({ length: 16 }, worker));
      } finally {
        agent.destroy();
      }
      expect(failures.slice(0, 20), `seed ${seed}, statuses ${JSON.stringify([...statuses])}`).toEqual([]);
      expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(requests.length);
      expect((await browse(`${daemon.baseUrl}/healthz`)).status).toBe(200);
      expect((await browse(clickLink)).location).toBe(HOSTILE_ANCHORS[0]!.href);
      expect(daemon.running).toBe(true);
    });
  });

  describe('admin API', () => {
    it('refuses report, events and POSTs without the token, with a wrong one, or with the token in another scheme: 401', async () => {
      const token = (await readFile(path.join(daemon.spec.dataDir, 'admin.token'), 'utf8')).trim();
      const lastChanged = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
      const authorizations = [undefined, '', 'Bearer', 'Bearer wrong', `Bearer ${lastChanged}`, `Basic ${token}`, `bearer  ${token}x`, token];
      const targets = [`/admin/report?sendid=${SEND.sendId}`, `/admin/events?sendid=${SEND.sendId}`, '/admin/bounce', '/admin/'];
      for (const authorization of authorizations) {
        for (const target of targets) {
          for (const method of ['GET', 'POST'] as const) {
            const res = await fetch(`${daemon.baseUrl}${target}`, {
              method,
              headers: authorization === undefined ? {} : { Authorization: authorization },
              ...(method === 'POST' ? { body: 'x' } : {}),
            });
            await res.arrayBuffer();
            expect(res.status, `${method} ${target} with ${JSON.stringify(authorization)}`).toBe(401);
          }
        }
      }
    });

    it('GET /admin/report with the token from <data>/admin.token -> 200 with the send', async () => {
      const token = (await readFile(path.join(daemon.spec.dataDir, 'admin.token'), 'utf8')).trim();
      const res = await fetch(`${daemon.baseUrl}/admin/report?sendid=${SEND.sendId}`, { headers: { Authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ sendId: SEND.sendId, messages: 1 });
    });
  });

  it('a slow client (half a request line, then nothing) is cut off within the header timeout (10 s) and a check interval', async () => {
    const { closedAfterMs, answer } = await slowClient;
    expect(closedAfterMs).toBeLessThan(15_000);
    if (answer !== '') expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  }, 20_000);
});
