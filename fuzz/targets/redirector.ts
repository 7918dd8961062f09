/**
 * The redirector of a real daemon (`node dist/cli/main.js serve`, free ports, a temp data dir holding a
 * signing key derived from a fixed label, so that the cases, valid tokens included, rebuild from the
 * seed alone). Each case is one raw connection: one to three requests, well-formed or not (random
 * methods, targets made of valid, mutated and junk tokens, hostile destinations signed with our key,
 * versions, Host and other headers, bodies), sometimes byte-mutated. `{HOST}` in a saved input stands
 * for the daemon's HOST:PORT.
 *
 * The one-click unsubscribe route `/u/TOKEN` gets GET, HEAD, POST and other methods with valid,
 * mutated and junk tokens and One-Click, multipart, junk and oversized bodies. Its tokens name three
 * identities: one only ever fetched (GET/HEAD), one POSTed (three recipients, one list), and one whose
 * tokens are only ever sent mutated (forged).
 *
 * Findings: a 5xx; a Location that is not an absolute http(s) URL of visible ASCII; any redirect from
 * /u/; a connection the daemon neither answers nor closes within 5 s of the client's EOF; the daemon
 * exiting; /healthz not answering 200 after each batch of cases; at those checks, an event recorded for
 * the fetched-only or forged identities, or more unsubscribes of the POSTed one than it has recipients.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFile } from 'node:fs/promises';
import { createKeyring, mintStatefulOpen, mintStatelessClick, mintStatelessOpen, signingKey, type Keyring } from '../../src/tokens/index.js';
import { mintUnsubscribeToken } from '../../src/tokens/unsubscribe-token.js';
import { daemonUnavailableReason, TrackmilterDaemon } from '../../test/helpers/daemon.js';
import { mutateBytes } from '../mutate.js';
import type { Rng } from '../random.js';
import { HANG_MS, type FuzzCase, type FuzzTarget, type Problem, type TargetContext, type TargetSession } from '../target.js';

const SECRET = createHash('sha256').update('trackmilter fuzz redirector key').digest();
const KID = 3;
const KEYRING: Keyring = createKeyring([signingKey(KID, SECRET)], KID);
/** Replaced by the daemon's real HOST:PORT when the case runs (the port is only known then). */
const HOST = '{HOST}';
const HEALTH_EVERY = 50;

const DESTINATIONS = [
  'https://shop.example/item?id=1&x=2',
  'http://plain.example/',
  'HTTPS://UPPER.EXAMPLE/PATH',
  'javascript:alert(1)',
  'data:text/html,<script>x</script>',
  '//evil.example/',
  'http:/evil.example',
  'https://evil.example/\r\nSet-Cookie: a=b',
  'https://a b.example/',
  'https://user:pass@host.example/',
  'https://例え.jp/パス?q=ü',
  'http://[::1]:8080/x',
  'https://x.example/%0d%0aLocation:%20http://evil',
  'ftp://files.example/',
  '',
  'https://',
  'https://x.example/' + 'a'.repeat(1500),
  'https://x.example/\u0000nul',
  'https://x.example/\ttab',
  'http://0x7f.1/',
];

function token(rng: Rng): string {
  const who = { recipient: 'r@example.net', sendId: 'a1', listId: 'l', emailCode: 'e' };
  switch (rng.below(3)) {
    case 0:
      return mintStatelessClick(KEYRING, {
        ...who,
        url: rng.chance(0.5) ? `https://shop.example/p/${rng.below(1000)}?q=${rng.below(9)}` : rng.pick(DESTINATIONS),
        position: rng.below(20),
        part: rng.pick(['h', 't'] as const),
      });
    case 1:
      return mintStatelessOpen(KEYRING, who);
    default:
      return mintStatefulOpen(KEYRING, { messageId: rng.bytes(1 + rng.below(12)) });
  }
}

/** Unsubscribe identities: fetched only, POSTed (these recipients), and forged (only sent mutated). */
const UNSUB = {
  fetched: { sendId: 'u-get', listId: 'fuzz-list', emailCode: '' },
  posted: { sendId: 'u-post', listId: 'fuzz-list', emailCode: '' },
  forged: { sendId: 'u-forged', listId: 'fuzz-list', emailCode: '' },
};
const POSTED_RECIPIENTS = ['p1@example.net', 'p2@example.net', 'p3@example.net'];
/** A fixed mint time (the token expires after retention.days, so not the epoch). */
const MINTED_AT = Date.UTC(2026, 0, 1);

function unsubscribeToken(rng: Rng, identity: keyof typeof UNSUB): string {
  const recipient = identity === 'posted' ? rng.pick(POSTED_RECIPIENTS) : `${identity}@example.net`;
  if (identity !== 'posted' && rng.chance(0.2)) {
    // Stateful: a message record this daemon never stored (404 whatever the method).
    return mintUnsubscribeToken(KEYRING, { kind: 'stateful', messageId: rng.bytes(1 + rng.below(12)), mailClass: '', mintedAt: MINTED_AT });
  }
  return mintUnsubscribeToken(KEYRING, { kind: 'stateless', recipient, ...UNSUB[identity], mailClass: rng.pick(['', 'a', 'zz']), mintedAt: MINTED_AT });
}

/** A token mutated so that it cannot verify (a changed, cut or appended character; never the same text). */
function forgedToken(rng: Rng, t: string): string {
  for (;;) {
    const forged = mutateToken(rng, t);
    if (forged !== t) return forged;
  }
}

const UNSUB_BODIES = [
  'List-Unsubscribe=One-Click',
  'List-Unsubscribe=One-Click&via=page',
  'List-Unsubscribe=one-click',
  'List-Unsubscribe=',
  '',
  'x'.repeat(9000),
  '--b\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--b--\r\n',
  'List-Unsubscribe=One-Click&List-Unsubscribe=One-Click',
  '%FF%FE=\u0000',
];

/** One request to /u/: what gateways (GET), mailbox providers (POST) and junk do. */
function unsubscribeRequest(rng: Rng): string {
  const method = rng.pick(['GET', 'HEAD', 'POST', 'POST', 'POST', 'PUT', 'OPTIONS', 'DELETE']);
  const fetchOnly = method === 'GET' || method === 'HEAD';
  const roll = rng.below(10);
  let path: string;
  if (roll < 3) path = `/u/${forgedToken(rng, unsubscribeToken(rng, 'forged'))}`;
  else if (roll < 4) path = rng.pick(['/u/', '/u//x', '/u/%7E', `/u/${rng.text(rng.skewed(300), 'ABCabc019_~-%./')}`, `/u/${token(rng)}`]);
  else path = `/u/${unsubscribeToken(rng, fetchOnly ? 'fetched' : 'posted')}`;
  if (rng.chance(0.2)) path += rng.pick(['?x=1', '?next=https://evil.example/', '#f', '/']);
  const body = method === 'POST' || method === 'PUT' ? rng.pick(UNSUB_BODIES) : '';
  const headers = [`Host: ${HOST}`, 'Connection: close'];
  if (body !== '' || rng.chance(0.5)) {
    headers.push(`Content-Type: ${rng.pick(['application/x-www-form-urlencoded', 'multipart/form-data; boundary=b', 'text/plain', ''])}`);
    headers.push(`Content-Length: ${rng.chance(0.9) ? Buffer.byteLength(body) : rng.pick(['0', '99999', '-1', 'x'])}`);
  }
  if (rng.chance(0.3)) headers.push(`User-Agent: ${rng.pick(['Mozilla/5.0', 'Proofpoint URL Defense', 'curl/8', 'Google-One-Click'])}`);
  return `${method} ${path} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n${body}`;
}

function mutateToken(rng: Rng, t: string): string {
  const at = rng.below(t.length + 1);
  switch (rng.below(6)) {
    case 0:
      return t.replaceAll('~', '%7E');
    case 1:
      return t.slice(0, at) + rng.pick(['A', '~', '-', '_', '%7E', '%7e', '%', '.', '/']) + t.slice(at + 1);
    case 2:
      return t.slice(0, at);
    case 3:
      return t.replaceAll('~', rng.pick(['%7E', '%7e', '-']));
    case 4:
      return t + rng.text(1 + rng.below(4), 'Aa0_~-');
    default:
      return t.toUpperCase();
  }
}

function requestTarget(rng: Rng): string {
  const query = rng.chance(0.3) ? `?${rng.pick(['utm=1', 'a=%zz', '', '&&', 'x='.padEnd(3000, 'y'), '#frag'])}` : '';
  switch (rng.below(12)) {
    case 0:
    case 1:
      return `/c/${token(rng)}${query}`;
    case 2:
      return `/c/${mutateToken(rng, token(rng))}${query}`;
    case 3:
      return `/o/${mutateToken(rng, token(rng))}${query}`;
    case 4:
      return `/${rng.pick(['shop', 'c', 'o', 'a/b'])}/${rng.pick(['page', 'x-y', ''])}-${mutateToken(rng, token(rng))}${query}`;
    case 5:
      return rng.pick(['/healthz', '/metrics', '/healthz?x', '/HEALTHZ', '/admin/report', '/admin/', '/o/', '/c/', '/', '*', '//', '/c//x']);
    case 6:
      return rng.pick([
        'http://evil.example/c/x',
        'https://127.0.0.1/c/abc',
        'example.com:80',
        '/%00',
        '/c/%2e%2e/%2e%2e/etc/passwd',
        '/c/..',
        '/o/../healthz',
      ]);
    case 7:
      return `/${rng.text(rng.pick([10, 100, 9000]), 'abcXYZ019-_~%/.?&=#')}`;
    case 8:
      return `/c/${rng.text(rng.skewed(500), 'ABCDEFabcdef0123456789_~-')}`;
    case 9:
      return `/c/${token(rng)}${rng.pick(['', '/', '%20', '\t', ' x'])}`;
    default:
      return rng.text(rng.skewed(80), '/\u00e9\u0000\r\n %abc');
  }
}

function headerLines(rng: Rng): string[] {
  const lines: string[] = [];
  const host = rng.below(10);
  if (host < 7) lines.push(`Host: ${HOST}`);
  else if (host === 7) lines.push(`Host: ${rng.pick(['evil.example', '', 'a b', HOST + '.evil', '[::1]'])}`);
  else if (host === 8) lines.push(`Host: ${HOST}`, `Host: evil.example`);
  const extras = rng.skewed(5);
  for (let i = 0; i < extras; i++) {
    lines.push(
      rng.pick([
        `X-Forwarded-For: ${rng.pick(['1.2.3.4', 'junk', '1.2.3.4, ::1', '999.1.1.1', ''.padEnd(2000, '1'), '::ffff:1.2.3.4'])}`,
        `User-Agent: ${rng.pick(['Mozilla/5.0', 'curl/8', 'GoogleImageProxy', ''.padEnd(20_000, 'u'), 'Microsoft Office/16.0'])}`,
        'Transfer-Encoding: chunked',
        `Content-Length: ${rng.pick(['0', '5', '-1', '99999999999', 'abc'])}`,
        'Connection: close',
        'Connection: keep-alive',
        'Expect: 100-continue',
        'X-Bad\u0001Name: v',
        'X-Bad-Value: a\u0000b',
        'NoColonHere',
        ' folded: continuation',
        `Cookie: ${rng.text(50, 'abc=;')}`,
      ]),
    );
  }
  return lines;
}

/** A request a browser or a link scanner could send: the tokens and destinations are what vary. */
function wellFormedRequest(rng: Rng): string {
  const method = rng.pick(['GET', 'GET', 'GET', 'HEAD']);
  const headers = [`Host: ${HOST}`];
  if (rng.chance(0.5)) headers.push(`User-Agent: ${rng.pick(['Mozilla/5.0', 'GoogleImageProxy', 'Microsoft Office/16.0', 'curl/8'])}`);
  if (rng.chance(0.3)) headers.push(`X-Forwarded-For: ${rng.pick(['1.2.3.4', 'junk', '::1, 10.0.0.1'])}`);
  // The daemon closes after answering; a half-close instead would make node drop a response still being looked up.
  headers.push('Connection: close');
  return `${method} ${requestTarget(rng)} ${rng.pick(['HTTP/1.1', 'HTTP/1.0'])}\r\n${headers.join('\r\n')}\r\n\r\n`;
}

function request(rng: Rng): string {
  if (rng.chance(0.6)) return wellFormedRequest(rng);
  const method = rng.pick(['GET', 'GET', 'GET', 'HEAD', 'POST', 'OPTIONS', 'get', 'DELETE', 'CONNECT', 'G\u00e9T', 'PRI']);
  const version = rng.pick(['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1x', 'HTTP/9.9', '']);
  const body = rng.chance(0.1) ? rng.text(rng.skewed(100), 'abc\r\n0') : '';
  const eol = rng.chance(0.9) ? '\r\n' : rng.pick(['\n', '\r']);
  return `${method} ${requestTarget(rng)}${version ? ` ${version}` : ''}${eol}${headerLines(rng).join(eol)}${eol}${eol}${body}`;
}

function generate(rng: Rng): FuzzCase {
  if (rng.chance(0.15)) return { label: 'unsubscribe request', input: Buffer.from(unsubscribeRequest(rng), 'utf8'), details: { halfClose: false } };
  if (rng.chance(0.5)) return { label: 'one well-formed request', input: Buffer.from(wellFormedRequest(rng), 'utf8'), details: { halfClose: false } };
  const count = 1 + rng.skewed(2);
  let raw: Buffer = Buffer.from(Array.from({ length: count }, () => request(rng)).join(''), 'utf8');
  let label = `${count} request(s)`;
  if (rng.chance(0.1)) {
    const m = mutateBytes(rng, raw);
    raw = m.data;
    label += `; ${m.label}`;
  }
  if (rng.chance(0.03)) {
    raw = rng.bytes(rng.skewed(2000));
    label = 'random bytes';
  }
  return { label, input: raw, details: { halfClose: true } };
}

/** Problems with a raw HTTP response stream. */
export function responseProblems(response: string): Problem[] {
  const problems: Problem[] = [];
  for (const m of response.matchAll(/^HTTP\/1\.[01] (\d{3})/gm)) {
    if (m[1]!.startsWith('5')) problems.push({ kind: 'violation', message: `status ${m[1]}` });
  }
  for (const m of response.matchAll(/^location:[ \t]*([^\r\n]*)/gim)) {
    const location = m[1]!;
    let ok = /^https?:\/\/[\x21-\x7e]+$/i.test(location);
    if (ok) {
      try {
        const url = new URL(location);
        ok = (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
      } catch {
        ok = false;
      }
    }
    if (!ok) problems.push({ kind: 'violation', message: `Location is not an absolute http(s) URL: ${JSON.stringify(location.slice(0, 200))}` });
  }
  return problems;
}

/**
 * Sends raw bytes (then half-closes, for requests that may never end) and collects the response until the
 * daemon closes the connection, or the limit.
 */
async function exchange(port: number, raw: Buffer, limitMs: number, halfClose = true): Promise<{ response: string; closed: boolean }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  socket.on('error', () => undefined);
  const closed = new Promise<boolean>((resolve) => socket.once('close', () => resolve(true)));
  if (halfClose) socket.end(raw);
  else socket.write(raw);
  const done = await Promise.race([closed, sleep(limitMs).then(() => false)]);
  socket.destroy();
  return { response: Buffer.concat(chunks).toString('latin1'), closed: done };
}

async function writeKey(dataDir: string): Promise<void> {
  const keys = path.join(dataDir, 'keys');
  await mkdir(keys, { recursive: true, mode: 0o700 });
  await chmod(keys, 0o700);
  await writeFile(path.join(keys, `kid-${KID}.key`), `${SECRET.toString('base64')}\n`, { mode: 0o600 });
  await writeFile(path.join(keys, 'current'), `${KID}\n`, { mode: 0o600 });
}

class DaemonHarness implements TargetSession {
  private cases = 0;
  private unsubscribedSeen = 0;
  constructor(
    private readonly daemon: TrackmilterDaemon,
    private readonly root: string,
    private readonly ctx: TargetContext,
  ) {}

  generate = generate;

  async execute(c: FuzzCase): Promise<Problem[]> {
    const host = `127.0.0.1:${this.daemon.httpPort}`;
    const raw = Buffer.from(c.input.toString('latin1').replaceAll(HOST, host), 'latin1');
    const { response, closed } = await exchange(this.daemon.httpPort, raw, HANG_MS, c.details?.halfClose !== false);
    const problems = responseProblems(response);
    for (const m of response.matchAll(/^HTTP\/1\.[01] (\d{3})/gm)) this.ctx.count(`status-${m[1]}`);
    if (!closed) problems.push({ kind: 'hang', message: `no close within ${HANG_MS} ms of the client's EOF (${response.length} bytes answered)` });
    if (c.label === 'unsubscribe request' && /^HTTP\/1\.[01] 3\d\d/m.test(response)) problems.push({ kind: 'violation', message: 'a redirect from /u/' });
    if (++this.cases % HEALTH_EVERY === 0) problems.push(...(await this.health()));
    return problems;
  }

  private async health(): Promise<Problem[]> {
    if (!this.daemon.running) return [{ kind: 'crash', message: `the daemon exited: ${this.daemon.diagnostics().slice(-2000)}` }];
    const host = `127.0.0.1:${this.daemon.httpPort}`;
    const { response } = await exchange(this.daemon.httpPort, Buffer.from(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`), HANG_MS);
    if (!/^HTTP\/1\.1 200/.test(response)) return [{ kind: 'violation', message: `/healthz did not answer 200: ${JSON.stringify(response.slice(0, 200))}` }];
    this.ctx.count('health-checks');
    return this.unsubscribeEvents();
  }

  /** Nothing recorded for tokens only fetched or forged; at most one unsubscribe per POSTed recipient. */
  private async unsubscribeEvents(): Promise<Problem[]> {
    const token = (await readFile(path.join(this.daemon.dataDir, 'admin.token'), 'utf8')).trim();
    const events = async (sendId: string): Promise<Array<{ type: string; recipient: string }>> => {
      const res = await fetch(`http://127.0.0.1:${this.daemon.httpPort}/admin/events?sendid=${sendId}`, { headers: { Authorization: `Bearer ${token}` } });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`/admin/events answered ${res.status}: ${text.slice(0, 200)}`);
      return text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { type: string; recipient: string });
    };
    const problems: Problem[] = [];
    for (const identity of ['fetched', 'forged'] as const) {
      const recorded = await events(UNSUB[identity].sendId);
      if (recorded.length > 0) problems.push({ kind: 'violation', message: `${recorded.length} event(s) recorded from ${identity} unsubscribe tokens` });
    }
    const posted = (await events(UNSUB.posted.sendId)).filter((e) => e.type === 'unsubscribe');
    const people = new Set(posted.map((e) => e.recipient));
    if (posted.length !== people.size)
      problems.push({ kind: 'violation', message: `${posted.length} unsubscribes recorded for ${people.size} recipient(s): a repeat was recorded` });
    this.ctx.count('unsubscribe-checks');
    // How many of the POSTed identity's recipients are unsubscribed so far (the last check's figure is the total).
    this.ctx.count('unsubscribed-recipients', people.size - this.unsubscribedSeen);
    this.unsubscribedSeen = people.size;
    return problems;
  }

  async close(): Promise<void> {
    const final = await this.health();
    for (const p of final) this.ctx.note(`final health check: ${p.message}`);
    await this.daemon.dispose();
    await rm(this.root, { recursive: true, force: true });
  }
}

export const redirectorTarget: FuzzTarget = {
  name: 'redirector',
  caseTimeoutMs: 2 * HANG_MS,
  async start(ctx) {
    const unavailable = daemonUnavailableReason();
    if (unavailable) throw new Error(`redirector target: ${unavailable}`);
    const root = await mkdtemp(path.join(os.tmpdir(), 'trackmilter-fuzz-'));
    const dataDir = path.join(root, 'data');
    await writeKey(dataDir);
    const daemon = await TrackmilterDaemon.start({ dataDir });
    ctx.note(`daemon pid ${daemon.pid} on 127.0.0.1:${daemon.httpPort}, data ${dataDir}`);
    return new DaemonHarness(daemon, root, ctx);
  },
  async generator() {
    return generate;
  },
};
