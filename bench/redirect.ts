/**
 * Redirector benchmark: wrk against nginx's `return 302` and against the redirector, in the same run
 * (the machine is noisy, so only figures from one run compare). The redirector resolves tokens from
 * memory and writes every click through the daemon's own store (LevelTrackStore, group commit) to a
 * classic-level database in a temp dir before answering; a second row runs it with the fast front off
 * (node:http for every request), as `http.fast_front = false` does, and a third with the daemon's own
 * resolver on a stateful token (HMAC check, then the URL row and message record from the store: one
 * token clicked over and over, so after the first click both come from the store's read cache, and
 * the query the request carries put back on the row's URL, as on a newsletter's utm-tagged links).
 * Every request carries a browser's head (BROWSER_HEADERS), as a click does. Two
 * more rows show the ceilings it lives under on the machine: node:http answering a fixed 302, and a
 * node:net socket writing a fixed 302 per request head without any HTTP parsing. The redirector rows run
 * the built code (dist/, as `trackmilter serve` does), so `npm run build` comes first.
 *
 *   tsx bench/redirect.ts [--rounds 5] [--duration 8] [--connections 64] [--threads 2] [--sync]
 *
 * Rounds are interleaved (every target once per round, a fresh server each time) so a slow stretch of
 * the machine hits every row alike; a row shows its median rate, its worst p99 over the rounds, and for
 * the redirector rows whether every click answered was recorded (events written >= responses counted
 * by wrk, warm-up included: an answer is only sent once its event is on disk). Ratios (vs nginx, vs the
 * memory row) are the median of each round's own ratio, and each round's are printed under the table.
 *
 * --sync makes every batch an fsync'd LevelDB write (durable across power loss, not just a crash).
 * Prints a table; writes bench/out/redirect.json. Without wrk or nginx it says so and exits 0.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { findFreePort } from '../test/helpers/net.js';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { createKeyring, mintStatefulClick, signingKey, urlRowId } from '../src/tokens/index.js';
import type { EventSink, LinkResolver, ResolvedLink } from '../src/redirector/types.js';
import { built } from './lib/built.js';
import type * as ServerModule from '../src/redirector/server.js';
import type * as StoreResolverModule from '../src/app/store-resolver.js';
import type * as StoreModule from '../src/store/index.js';
import type * as LogModule from '../src/util/log.js';
import type * as TokensModule from '../src/tokens/index.js';
import type * as TokenTextModule from '../src/tokens/token-text.js';
import { cpuMs } from './lib/cpu.js';
import { median, ratiosByRound } from './lib/figures.js';
import { randomPathScript, wrk, type WrkResult } from './lib/wrk.js';

const execFileAsync = promisify(execFile);
const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const OUT_FILE = path.join(BENCH_DIR, 'out', 'redirect.json');

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '8' },
    connections: { type: 'string', default: '64' },
    threads: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '2' },
    sync: { type: 'boolean', default: false },
    only: { type: 'string' },
    serve: { type: 'string' },
    port: { type: 'string' },
  },
});
const ROUNDS = Number(args.rounds);
const DURATION_S = Number(args.duration);
const CONNECTIONS = Number(args.connections);
const THREADS = Number(args.threads);
const WARMUP_S = Number(args.warmup);
const SYNC = args.sync ?? false;
/** Measure one target alone (nginx, raw, bare, redirector-node, redirector, redirector-stateful): for profiling; the ratio needs nginx too. */
const ONLY = args.only;

async function which(command: string): Promise<string | null> {
  try {
    const { stdout } = await execFileAsync('sh', ['-c', `command -v ${command}`]);
    return stdout.trim() || null;
  } catch {
    return null;
  }
}

const freePort = (): Promise<number> => findFreePort();

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function runWrk(url: string, seconds: number, script?: string): Promise<WrkResult> {
  return wrk(url, { threads: THREADS, connections: CONNECTIONS, seconds, headers: BROWSER_HEADERS, ...(script ? { script } : {}) });
}

/** The measured run, the server's CPU per answered request in it, and every response counted by wrk (warm-up included). */
async function measure(url: string, pid: number, script?: string): Promise<{ result: WrkResult; responses: number; cpuUsPerRequest: number }> {
  const warmup = WARMUP_S > 0 ? (await runWrk(url, WARMUP_S, script)).requests : 0;
  const cpuBefore = await cpuMs(pid);
  const result = await runWrk(url, DURATION_S, script);
  const cpuUsPerRequest = (((await cpuMs(pid)) - cpuBefore) * 1000) / Math.max(1, result.requests);
  return { result, responses: warmup + result.requests, cpuUsPerRequest };
}

// --- nginx ---------------------------------------------------------------------------------------

/** A server under test: where it listens, and how to stop it (with whatever it reports on exit). */
interface RunningTarget {
  port: number;
  /** The server's process (nginx: its master; its workers are counted as its children). */
  pid: number;
  stop: () => Promise<Record<string, number>>;
}

async function startNginx(): Promise<RunningTarget> {
  const prefix = await mkdtemp(path.join(os.tmpdir(), 'bench-nginx-'));
  const port = await freePort();
  const template = await readFile(path.join(BENCH_DIR, 'nginx', 'nginx.conf.in'), 'utf8');
  await writeFile(path.join(prefix, 'nginx.conf'), template.replaceAll('@PREFIX@', prefix).replaceAll('@PORT@', String(port)));
  await mkdir(path.join(prefix, 'logs'), { recursive: true }); // nginx opens <prefix>/logs/error.log before reading the config
  const child: ChildProcess = spawn('nginx', ['-c', path.join(prefix, 'nginx.conf'), '-p', prefix], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([waitForPort(port), exited.then(() => Promise.reject(new Error(`nginx exited: ${stderr.trim()}`)))]);
  } catch (err) {
    await rm(prefix, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGQUIT'); // graceful: workers finish, master removes its pid file
      await exited;
      await rm(prefix, { recursive: true, force: true });
      return {};
    },
  };
}

// --- the redirector under test -------------------------------------------------------------------

const TOKEN = 'bench0Token_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';
/**
 * What a browser sends with a click besides Host: Chrome 131 following a link on Windows, 15 lines and
 * about 800 bytes a head, where wrk alone sends two lines. Every row reads them; the redirector's judge
 * sees a person's browser.
 */
const BROWSER_HEADERS = [
  'Connection: keep-alive',
  'sec-ch-ua: "Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
  'sec-ch-ua-mobile: ?0',
  'sec-ch-ua-platform: "Windows"',
  'Upgrade-Insecure-Requests: 1',
  'User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7',
  'Sec-Fetch-Site: cross-site',
  'Sec-Fetch-Mode: navigate',
  'Sec-Fetch-User: ?1',
  'Sec-Fetch-Dest: document',
  'Accept-Encoding: gzip, deflate, br, zstd',
  'Accept-Language: en-US,en;q=0.9,de;q=0.8',
];

/**
 * The query every request carries, as a newsletter's links do (utm_*): a stateful link's row holds its
 * URL up to the `?`, and the redirector puts the carried query back on every click.
 */
const CARRIED_QUERY = '?utm_source=news&utm_medium=email&utm_campaign=weekly';
const LINK: ResolvedLink = {
  kind: 'click',
  url: `https://example.com/${CARRIED_QUERY}`,
  sendId: 'a100525',
  listId: 'list7',
  recipient: 'reader@example.org',
  emailCode: 'ec-123',
  linkName: 'hero',
  position: 1,
  part: 'h',
};

/**
 * Token lookups from memory, so the figure is the HTTP path and the event write. The link says what
 * the store resolver's does for the stateful token (delivered when the server started, the same
 * message), so the machine judge does the same work on both rows and they differ by resolving alone.
 */
function memoryResolver(deliveredAt: Date): LinkResolver {
  const link: ResolvedLink = { ...LINK, deliveredAt, messageId: MESSAGE_ID.toString('hex') };
  return { resolve: (route) => (route.token === TOKEN ? link : null) };
}

/**
 * What the daemon really does for a click: a stateful token verified with the keyring, then its URL row
 * and message record read from the store. The key is fixed so the launcher can mint the same token.
 */
const KEY_BYTES = createHash('sha256').update('bench:redirect key').digest();
const KEY = signingKey(1, KEY_BYTES);
const KEYRING = createKeyring([KEY], 1);
const ROW = { sendId: LINK.sendId, listId: LINK.listId, url: 'https://example.com/', linkName: 'hero' };
const ROW_ID = urlRowId(KEY, ROW);
const MESSAGE_ID = Buffer.from('bench-message-1');
const STATEFUL_TOKEN = mintStatefulClick(KEYRING, { rowId: ROW_ID, messageId: MESSAGE_ID, position: 1, part: 'h' });

/**
 * The same path as a send's recipients make it: RECIPIENTS messages of one send, one recipient each,
 * each with its own token for the same link; wrk picks one at random per request. Every click is then
 * mostly a new person to the send's unique counts and to the machine judge, where the one-token row
 * has one person clicking over and over.
 */
const RECIPIENTS = 10_000;
const messageIdOf = (n: number): Buffer => Buffer.from(`bench-message-many-${n}`);
const manyTokens = (): string[] =>
  Array.from({ length: RECIPIENTS }, (_, n) => mintStatefulClick(KEYRING, { rowId: ROW_ID, messageId: messageIdOf(n), position: 1, part: 'h' }));

/**
 * Serves the redirector with the daemon's own store (LevelTrackStore: group commit, the event and
 * retention keys) until SIGTERM, then reports what it wrote. Built modules, not src/ through tsx.
 */
async function serveRedirector(port: number, options: { fastFront?: boolean; stateful?: boolean; recipients?: number } = {}): Promise<void> {
  const [{ RedirectorServer }, { createStoreResolver }, { LevelTrackStore }, { silentLogger }, { createKeyring, signingKey }, { isTokenText }] =
    await Promise.all([
      built<typeof ServerModule>('redirector/server.js'),
      built<typeof StoreResolverModule>('app/store-resolver.js'),
      built<typeof StoreModule>('store/index.js'),
      built<typeof LogModule>('util/log.js'),
      built<typeof TokensModule>('tokens/index.js'),
      built<typeof TokenTextModule>('tokens/token-text.js'),
    ]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-redirect-db-'));
  const store = new LevelTrackStore(dir, { sync: SYNC });
  await store.open();
  const deliveredAt = new Date();
  let resolver = memoryResolver(deliveredAt);
  if (options.stateful) {
    const recipients = [LINK.recipient];
    const message = { id: MESSAGE_ID, recipients, emailCode: LINK.emailCode, sendId: LINK.sendId, listId: LINK.listId, queueId: 'B3NCH', time: deliveredAt };
    await store.recordMessage(message, [{ id: ROW_ID, ...ROW }]);
    const numbers = Array.from({ length: options.recipients ?? 0 }, (_, n) => n);
    for (let from = 0; from < numbers.length; from += 500) {
      const chunk = numbers
        .slice(from, from + 500)
        .map((n) => ({ ...message, id: messageIdOf(n), recipients: [`reader${n}@example.org`], emailCode: `ec-${n}` }));
      await Promise.all(chunk.map((many) => store.recordMessage(many, [{ id: ROW_ID, ...ROW }])));
    }
    resolver = createStoreResolver(createKeyring([signingKey(1, KEY_BYTES)], 1), store);
  }
  const sink: EventSink = { record: (events) => store.recordEvents(events) };
  const server = new RedirectorServer({
    host: '127.0.0.1',
    port,
    logger: silentLogger,
    resolver,
    events: sink,
    fastFront: options.fastFront ?? true,
    tokenSyntax: (token) => isTokenText(token),
  });
  await server.listen();
  await untilTerminated();
  await server.close();
  const stats = store.stats();
  await store.close();
  await rm(dir, { recursive: true, force: true });
  return reportAndExit({ eventsWritten: stats.events, batches: stats.batches });
}

/** node:http answering a fixed 302 and nothing else: the ceiling for anything built on it. */
async function serveBareNode(port: number): Promise<void> {
  const headers = ['Location', 'https://example.com/', 'Content-Length', '0'];
  const server = http.createServer((_req, res) => {
    res.writeHead(302, headers);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  await untilTerminated();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  return reportAndExit({});
}

/**
 * A node:net socket answering every request head with a fixed 302, no HTTP parsing at all: what Node
 * itself can do on this machine, below any HTTP server built on it. Not a server anyone should run.
 */
async function serveRawSocket(port: number): Promise<void> {
  const reply = 'HTTP/1.1 302 Found\r\nLocation: https://example.com/\r\nContent-Length: 0\r\n\r\n';
  const server = net.createServer({ noDelay: true }, (socket) => {
    let tail = '';
    socket.on('data', (chunk: Buffer) => {
      const text = tail + chunk.toString('latin1');
      let heads = 0;
      let at = 0;
      for (let end = text.indexOf('\r\n\r\n'); end !== -1; end = text.indexOf('\r\n\r\n', at)) {
        heads += 1;
        at = end + 4;
      }
      tail = text.slice(at);
      if (heads > 0) socket.write(reply.repeat(heads), 'latin1');
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  await untilTerminated();
  return reportAndExit({});
}

function untilTerminated(): Promise<void> {
  return new Promise((resolve) => process.once('SIGTERM', () => resolve()));
}

function reportAndExit(stats: Record<string, number>): void {
  process.stdout.write(`${JSON.stringify(stats)}\n`, () => process.exit(0));
}

/**
 * Each server under test runs in its own node process (this file with --serve), the same way whatever
 * launched the bench: measured in the launcher's own process, `tsx`'s wrapper cost a third of the rate.
 */
async function startServerProcess(kind: keyof typeof SERVERS): Promise<RunningTarget> {
  const port = await freePort();
  const argv = ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', kind, '--port', String(port)];
  if (SYNC) argv.push('--sync');
  const child = spawn(process.execPath, argv, { cwd: path.dirname(BENCH_DIR), stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await Promise.race([waitForPort(port), exited.then(() => Promise.reject(new Error(`${kind} server exited before listening`)))]);
  return {
    port,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      const stuck = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(stuck);
      return JSON.parse(stdout.trim().split('\n').pop() || '{}') as Record<string, number>;
    },
  };
}

// --- the run -------------------------------------------------------------------------------------

const NGINX = 'nginx return 302';
const REDIRECTOR = 'redirector + LevelDB';

interface Round extends WrkResult {
  target: string;
  responses: number;
  cpuUsPerRequest: number;
  eventsWritten?: number;
  batches?: number;
}

/** One target over every round: median rate, worst tail, clicks answered but not recorded. */
interface Row {
  target: string;
  requestsPerSec: number;
  p50Ms: number;
  worstP99Ms: number;
  cpuUsPerRequest: number;
  non3xx: number;
  socketErrors: string;
  /** Responses wrk counted beyond the events the server wrote (a redirector row: must be 0). */
  unrecorded?: number;
  eventsPerBatch?: number;
  rounds: Round[];
}

function rowOf(target: string, rounds: Round[]): Row {
  const written = rounds.every((r) => r.eventsWritten !== undefined);
  const batches = rounds.reduce((sum, r) => sum + (r.batches ?? 0), 0);
  const events = rounds.reduce((sum, r) => sum + (r.eventsWritten ?? 0), 0);
  return {
    target,
    requestsPerSec: median(rounds.map((r) => r.requestsPerSec)),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    worstP99Ms: Math.max(...rounds.map((r) => r.p99Ms)),
    cpuUsPerRequest: median(rounds.map((r) => r.cpuUsPerRequest)),
    non3xx: rounds.reduce((sum, r) => sum + r.non3xx, 0),
    socketErrors: rounds
      .map((r) => r.socketErrors ?? '')
      .join(' ')
      .trim(),
    ...(written
      ? { unrecorded: rounds.reduce((sum, r) => sum + Math.max(0, r.responses - (r.eventsWritten ?? 0)), 0), eventsPerBatch: events / Math.max(1, batches) }
      : {}),
    rounds,
  };
}

async function main(): Promise<void> {
  const missing = [];
  if (!(await which('wrk'))) missing.push('wrk');
  if (!(await which('nginx'))) missing.push('nginx');
  if (missing.length > 0) {
    console.log(`bench:redirect skipped: ${missing.join(' and ')} not installed (Debian: apt-get install -y wrk nginx)`);
    return;
  }
  console.log(
    `wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION_S}s (after ${WARMUP_S}s warm-up), ${ROUNDS} interleaved rounds, ` +
      `${os.cpus().length} CPUs, node ${process.version}, LevelDB sync=${SYNC}, load ${os.loadavg()[0]!.toFixed(2)}`,
  );
  const rounds = new Map<string, Round[]>();

  const manyScript = await randomPathScript(manyTokens().map((token) => `/c/${token}${CARRIED_QUERY}`));
  const targets: { only: string; target: string; start: () => Promise<RunningTarget>; token?: string; script?: string }[] = [
    { only: 'nginx', target: NGINX, start: startNginx },
    { only: 'bare', target: 'node:http bare 302', start: () => startServerProcess('bare') },
    { only: 'raw', target: 'node:net fixed 302', start: () => startServerProcess('raw') },
    { only: 'redirector-node', target: 'redirector, node:http only', start: () => startServerProcess('redirector-node') },
    { only: 'redirector', target: REDIRECTOR, start: () => startServerProcess('redirector') },
    {
      only: 'redirector-stateful',
      target: 'redirector, stateful token + reads',
      start: () => startServerProcess('redirector-stateful'),
      token: STATEFUL_TOKEN,
    },
    {
      only: 'redirector-stateful-many',
      target: `redirector, stateful, ${RECIPIENTS / 1000}k recipients`,
      start: () => startServerProcess('redirector-stateful-many'),
      script: manyScript,
    },
  ];
  for (let round = 0; round < ROUNDS; round++) {
    for (const { only, target, start, token, script } of targets) {
      if (ONLY && ONLY !== only) continue;
      const running = await start();
      let measured: Awaited<ReturnType<typeof measure>> | undefined;
      try {
        measured = await measure(`http://127.0.0.1:${running.port}/c/${token ?? TOKEN}${CARRIED_QUERY}`, running.pid, script);
      } finally {
        // What the server reports on its way out (the redirector: events and batches written).
        const stats = await running.stop();
        if (measured) {
          const list = rounds.get(target) ?? [];
          list.push({ target, ...measured.result, responses: measured.responses, cpuUsPerRequest: measured.cpuUsPerRequest, ...stats });
          rounds.set(target, list);
        }
      }
    }
  }
  await rm(path.dirname(manyScript), { recursive: true, force: true });
  const rows = [...rounds].map(([target, list]) => rowOf(target, list));

  const nginxCpu = rows.find((row) => row.target === NGINX)?.cpuUsPerRequest ?? NaN;
  // Ratios are taken round by round, then the median: the rows of one round ran a minute apart at most.
  const rates = (list: Round[] | undefined): number[] => (list ?? []).map((round) => round.requestsPerSec);
  const ratiosOf = (row: Row, reference: string): number[] => ratiosByRound(rates(row.rounds), rates(rounds.get(reference)));
  const ratioOf = (row: Row, reference: string): number => median(ratiosOf(row, reference));
  const table = rows.map((row) => ({
    target: row.target,
    'req/s': Math.round(row.requestsPerSec),
    'p50 ms': Number(row.p50Ms.toFixed(2)),
    'worst p99 ms': row.worstP99Ms,
    'vs nginx': Number(ratioOf(row, NGINX).toFixed(3)),
    'CPU us/req': Number(row.cpuUsPerRequest.toFixed(1)),
    'CPU vs nginx': Number((nginxCpu / row.cpuUsPerRequest).toFixed(3)),
    'vs memory row': row.target.startsWith('redirector') ? Number(ratioOf(row, REDIRECTOR).toFixed(3)) : '',
    recorded: row.unrecorded === undefined ? '' : row.unrecorded === 0 ? 'all' : `${row.unrecorded} missing`,
    'ev/batch': row.eventsPerBatch === undefined ? '' : Math.round(row.eventsPerBatch),
    'non-3xx': row.non3xx,
    'socket errors': row.socketErrors,
  }));
  console.table(table);
  console.log(
    `req/s, CPU: medians of ${ROUNDS} rounds; vs nginx, vs memory row: medians of the rounds' own ratios; worst p99: the ` +
      `highest of the rounds; CPU us/req: the server's CPU (all threads and child processes) per answered request; CPU vs ` +
      `nginx: nginx's CPU per request over the row's; memory row: '${REDIRECTOR}'`,
  );
  for (const row of rows.filter((r) => r.target.startsWith('redirector') && r.target !== REDIRECTOR)) {
    const each = (reference: string): string =>
      ratiosOf(row, reference)
        .map((ratio) => ratio.toFixed(2))
        .join(' ');
    console.log(`  ${row.target}, round by round: vs memory row ${each(REDIRECTOR)}; vs nginx ${each(NGINX)}`);
  }
  await mkdir(path.dirname(OUT_FILE), { recursive: true });
  const out = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    wrk: { threads: THREADS, connections: CONNECTIONS, durationSeconds: DURATION_S, warmupSeconds: WARMUP_S, rounds: ROUNDS },
    leveldbSync: SYNC,
    results: rows,
    ratioToNginx: Object.fromEntries(rows.map((row) => [row.target, ratioOf(row, NGINX)])),
    ratioToMemoryRow: Object.fromEntries(rows.filter((row) => row.target.startsWith('redirector')).map((row) => [row.target, ratioOf(row, REDIRECTOR)])),
  };
  await writeFile(OUT_FILE, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), OUT_FILE)}`);
}

const SERVERS = {
  redirector: (port: number) => serveRedirector(port),
  'redirector-node': (port: number) => serveRedirector(port, { fastFront: false }),
  'redirector-stateful': (port: number) => serveRedirector(port, { stateful: true }),
  'redirector-stateful-many': (port: number) => serveRedirector(port, { stateful: true, recipients: RECIPIENTS }),
  bare: serveBareNode,
  raw: serveRawSocket,
} satisfies Record<string, (port: number) => Promise<void>>;
const serve = args.serve === undefined ? undefined : SERVERS[args.serve as keyof typeof SERVERS];
const run = serve ? serve(Number(args.port)) : main();
run.catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
