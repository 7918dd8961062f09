/**
 * One message through the milter's own work, without Postfix or sockets: what `bench:mta` measures
 * end to end, taken apart so a change to the MIME, rewriting or token code shows in seconds.
 *
 *   tsx bench/message.ts        BENCH_ROUNDS=7 interleaved rounds (median), BENCH_LINKS=40
 *   BENCH_WARMUP=3000           messages through each pass before timing starts, in interleaved rounds.
 *                               V8 goes on compiling the per-message paths for the first couple of
 *                               thousand messages (--trace-opt, prepareTracking and the floor taking
 *                               turns 250 messages at a time: 101 compile jobs over messages 1-250, 8
 *                               over 751-1,000, 6 over 1,751-2,000, 0 to 2 per 250 after 2,250), on
 *                               V8's helper threads, which this bench counts. The daemon runs warm, as
 *                               bench:mta times it; BENCH_WARMUP=0 shows a milter just started.
 *
 * It runs the built code (dist/), as the milter does: `npm run bench:message` builds first.
 *
 * Messages: bench:mta's newsletter (../shared/bench/make-newsletter.py, when ../shared is there) and
 * our own test newsletter (test/app/helpers/newsletter.ts), both multipart/alternative in
 * quoted-printable UTF-8; and the first of them with its parts in base64, and in windows-1252
 * (bench/lib/sent-as.ts), as much senders' mail comes. Passes, in CPU time per message:
 *   prepareTracking   everything the milter does at end of message: MIME tree, decode, rewrite both
 *                     parts, mint every token (HMAC), re-encode, self-check, X-Mailer-Info-Extra
 *   MIME floor        the same parts decoded, the HTML run through the rewriter's tokenizer
 *                     (src/rewrite/html-tokenizer.ts) reporting nothing, and re-encoded and
 *                     self-checked unchanged: what any correct body rewriter pays before it changes a
 *                     link. The ratio floor/prepareTracking is the share of that.
 *   per subscriber    prepareTracking on 256 copies of the message, each with a subscriber id of its own
 *                     in its links' queries (as a list's mail is), one after the other: what the caches
 *                     shared by a send's copies save when every URL is new
 *   parse5 floor      the same with a bare parse5 tokenizer, the floor before the rewriter had its own
 *                     tokenizer: how far a general tokenizer is from the floor.
 *   click tokens      the message's stateful click tokens alone (one per link rewritten, as many as
 *                     prepareTracking mints), each with its HMAC-SHA256 and its text: with the MIME
 *                     floor, the least a rewriter that signs every link pays before it finds, judges or
 *                     writes one. The bench prints that sum over the floor, beside the target's 1.5x.
 * It also prints prepareTracking over the floor round by round, and their median: the figure to hold
 * against a target, as a slow stretch of the machine hits both passes of a round alike. And the ratio
 * of each pass's fastest round: on a shared machine a round can run at half speed, and the fastest
 * is the one least slowed by it.
 *
 * Each pass runs in a node process of its own (this file with --pass), asked for one round at a time, so
 * the rounds still take turns. The passes share code (the QP codecs, the tokenizer), and in one process
 * V8 compiled it with the type feedback of all of them, in an order that can differ from run to run: the
 * floor of one build once took 542 µs in every round of a run and 340 in the next run, where
 * prepareTracking took 729 and 731, which made the ratio 1.34x instead of 2.12x. The daemon runs no
 * floor beside prepareTracking, so each pass is timed as if it ran alone.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { Tokenizer } from 'parse5';
import type * as ConfigModule from '../src/config/load.js';
import type * as CachesModule from '../src/tracking/tracking-caches.js';
import type * as SettingsModule from '../src/tracking/settings.js';
import type * as FilterModule from '../src/tracking/tracking-filter.js';
import type * as TokensModule from '../src/tokens/index.js';
import type * as SplitModule from '../src/mime/message-split.js';
import type * as MimeModule from '../src/mime/index.js';
import type * as HtmlTokenizerModule from '../src/rewrite/html-tokenizer.js';
import type { HeaderField } from '../src/milter/commands.js';
import { buildNewsletter } from '../test/app/helpers/newsletter.js';
import { sharedPath } from '../test/helpers/shared-dir.js';
import { built } from './lib/built.js';
import { messageClickTokens } from './lib/click-tokens.js';
import { asBase64, asWindows1252 } from './lib/sent-as.js';
import { subscriberCopies } from './lib/copies.js';
import { median, ratiosByRound } from './lib/figures.js';

// The built code, as the milter runs it (`npm run bench:message` builds first).
const [
  { defaultConfig },
  { TrackingCaches },
  { rewriteSettings, trackingHosts },
  { prepareTracking },
  { createKeyring, signingKey, statefulClickMinter },
  { splitMessage },
  { rewriteBody },
  { tokenizeHtml, TokenFilter },
] = await Promise.all([
  built<typeof ConfigModule>('config/load.js'),
  built<typeof CachesModule>('tracking/tracking-caches.js'),
  built<typeof SettingsModule>('tracking/settings.js'),
  built<typeof FilterModule>('tracking/tracking-filter.js'),
  built<typeof TokensModule>('tokens/index.js'),
  built<typeof SplitModule>('mime/message-split.js'),
  built<typeof MimeModule>('mime/index.js'),
  built<typeof HtmlTokenizerModule>('rewrite/html-tokenizer.js'),
]);

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const LINKS = Number(process.env.BENCH_LINKS ?? 40);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3000);
const NEWSLETTER_SCRIPT = sharedPath('bench', 'make-newsletter.py');
const MAKE_NEWSLETTER = NEWSLETTER_SCRIPT.path;

interface Sample {
  name: string;
  headers: HeaderField[];
  /** In quoted-printable, where the subscriber ids of the copies are found. */
  body: Buffer;
  /** What the body and its copies are sent as (the base64 and windows-1252 samples). */
  sentAs?: (body: Buffer) => Buffer;
}

/** Copies of one send, as a list's mail is: the same body with a subscriber id of its own in each. */
const COPIES = 256;

function messages(say: boolean): Sample[] {
  const own = buildNewsletter();
  const list: Sample[] = [{ name: 'own test newsletter', headers: own.headers, body: own.body }];
  if (NEWSLETTER_SCRIPT.present) {
    const raw = execFileSync('python3', [MAKE_NEWSLETTER, String(LINKS)], { maxBuffer: 64 << 20 });
    list.unshift({ name: `bench:mta newsletter, ${LINKS} links`, ...splitMessage(raw) });
  } else if (say) {
    console.log(`(${NEWSLETTER_SCRIPT.absence}: only our own newsletter is measured)`);
  }
  const first = list[0]!;
  list.push({ ...first, name: `${first.name}, in base64`, sentAs: asBase64 }, { ...first, name: `${first.name}, in windows-1252`, sentAs: asWindows1252 });
  return list;
}

const config = defaultConfig();
const keyring = createKeyring([signingKey(1, createHash('sha256').update('bench:message key').digest())], 1);
// Shared by every message, as on a worker thread: each copy of a send finds its row ids and URL verdicts.
const caches = new TrackingCaches(trackingHosts(config));
const { limits } = rewriteSettings(config, { clicks: true, opens: true });
const envelope = (address: string) => ({ address, args: [] });
const noop = (): void => undefined;
// Reports nothing, and asks for no tag (the rewriter asks for a few): the tokenizer makes no name or tag object.
const silentHandler = { only: new TokenFilter([], []), wantsAttributes: () => false, startTag: noop, endTag: noop, comment: noop };
const bareParse5Handler = {
  onComment: noop,
  onDoctype: noop,
  onStartTag: noop,
  onEndTag: noop,
  onEof: noop,
  onCharacter: noop,
  onNullCharacter: noop,
  onWhitespaceCharacter: noop,
};

/** Decode, tokenize the HTML with `tokenize`, re-encode and self-check, changing nothing. */
function floorPass(headers: HeaderField[], body: Buffer, tokenize: (text: string) => void): void {
  const result = rewriteBody(
    headers,
    body,
    (kind, text) => {
      if (kind === 'html') tokenize(text);
      return text;
    },
    limits,
    { forceReencode: true },
  );
  if (result.parts.length < 2) throw new Error('the floor pass did not see both parts');
}

/** The passes, each made only in the process that runs it; `links`: how many tokens the message's own prepareTracking mints. */
const PASSES = ['prepareTracking', 'per subscriber', 'MIME floor', 'parse5 floor', 'click tokens'] as const;
type PassName = (typeof PASSES)[number];

function passOf(name: PassName, { headers, body: written, sentAs = (body) => body }: Sample, links: number): () => unknown {
  const body = sentAs(written);
  let queue = 0;
  /** prepareTracking of one copy; the links it rewrote. */
  const track = (copy: Buffer): number => {
    const outcome = prepareTracking(
      { headers, body: copy, queueId: `Q${queue++}`, from: envelope('news@shop.example'), recipients: [envelope('reader@example.net')] },
      config,
      keyring,
      caches,
    );
    if (outcome.kind !== 'track' || !outcome.plan.body) throw new Error(`the message was not rewritten: ${outcome.kind}`);
    return outcome.plan.links.length;
  };
  switch (name) {
    case 'prepareTracking':
      return () => track(body);
    case 'per subscriber': {
      const copies = subscriberCopies(written, COPIES).map(sentAs);
      return () => track(copies[queue % COPIES]!);
    }
    case 'MIME floor':
      return () => floorPass(headers, body, (text) => tokenizeHtml(text, silentHandler));
    case 'parse5 floor':
      return () => floorPass(headers, body, (text) => new Tokenizer({ sourceCodeLocationInfo: true }, bareParse5Handler).write(text, true));
    case 'click tokens':
      return messageClickTokens(statefulClickMinter, keyring, links);
  }
}

/**
 * Per run, in µs: CPU time of the whole process (the garbage collector's helper threads included: on
 * a machine shared with the MTA, that is what a message costs), and main-thread wall time.
 */
function timePerRun(pass: () => void, repeat: number): { cpu: number; wall: number } {
  const start = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < repeat; i++) pass();
  const wall = Number(process.hrtime.bigint() - started) / 1000;
  const used = process.cpuUsage(start);
  return { cpu: (used.user + used.system) / repeat, wall: wall / repeat };
}

/** A pass's process: runs `repeat` messages through its pass whenever asked, and answers their cost. */
interface PassProcess {
  run: (repeat: number) => Promise<{ cpu: number; wall: number }>;
  stop: () => void;
}

type FromPass = { ready: true; links: number } | { cpu: number; wall: number };

function startPass(name: PassName, sample: number, links: number): Promise<PassProcess & { links: number }> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--pass', name, '--sample', String(sample), '--links', String(links)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  let answer: ((message: FromPass) => void) | undefined;
  const failed = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`the ${name} pass exited (${code})`))));
  failed.catch(() => undefined);
  child.on('message', (message: FromPass) => answer?.(message));
  const next = (): Promise<FromPass> => Promise.race([new Promise<FromPass>((resolve) => (answer = resolve)), failed]);
  return next().then((ready) => ({
    links: 'links' in ready ? ready.links : links,
    run: (repeat) => {
      const reply = next();
      child.send(repeat);
      return reply as Promise<{ cpu: number; wall: number }>;
    },
    stop: () => {
      child.removeAllListeners('exit');
      child.kill();
    },
  }));
}

/** In a pass's process: build the pass, say so (with the links the message has, for the tokens pass), then run rounds as asked. */
function servePass(name: PassName, sampleIndex: number, links: number): void {
  const sample = messages(false)[sampleIndex]!;
  const run = passOf(name, sample, links);
  const own = name === 'prepareTracking' ? (run() as number) : links;
  process.on('message', (repeat: number) => process.send!(timePerRun(run, repeat)));
  process.send!({ ready: true, links: own });
}

async function main(): Promise<void> {
  console.log(
    `bench:message: ${ROUNDS} interleaved rounds after ${WARMUP} messages of warm-up per pass, each pass in a process of its own, medians per message; node ${process.version}`,
  );
  const samples = messages(true);
  for (const [index, sample] of samples.entries()) {
    const tracking = await startPass('prepareTracking', index, 0);
    const links = tracking.links;
    const others = await Promise.all(PASSES.slice(1).map((name) => startPass(name, index, links)));
    const processes = new Map<PassName, PassProcess>([['prepareTracking', tracking], ...PASSES.slice(1).map((name, i) => [name, others[i]!] as const)]);
    try {
      const repeat = Math.max(20, Math.round(250_000 / (await tracking.run(20)).wall));
      for (let warmed = 0; warmed < WARMUP; warmed += repeat) for (const pass of processes.values()) await pass.run(repeat);
      const figures = Object.fromEntries(PASSES.map((pass) => [pass, { cpu: [] as number[], wall: [] as number[] }])) as Record<
        PassName,
        { cpu: number[]; wall: number[] }
      >;
      for (let round = 0; round < ROUNDS; round++) {
        for (const [pass, running] of processes) {
          const { cpu, wall } = await running.run(repeat);
          figures[pass].cpu.push(cpu);
          figures[pass].wall.push(wall);
        }
      }
      report(sample, links, figures);
    } finally {
      for (const pass of processes.values()) pass.stop();
    }
  }
}

function report(sample: Sample, links: number, samples: Record<PassName, { cpu: number[]; wall: number[] }>): void {
  const bodyBytes = (sample.sentAs ? sample.sentAs(sample.body) : sample.body).length;
  console.log(`\n${sample.name} (${(bodyBytes / 1024).toFixed(1)} KB of body)`);
  console.log('  pass              CPU µs (all threads)  wall µs (main)  msg/s per core (CPU)');
  for (const [pass, { cpu, wall }] of Object.entries(samples)) {
    console.log(
      `  ${pass.padEnd(16)}  ${median(cpu).toFixed(0).padStart(20)}  ${median(wall).toFixed(0).padStart(14)}  ${(1e6 / median(cpu)).toFixed(0).padStart(20)}`,
    );
  }
  const ratio = median(samples['MIME floor'].cpu) / median(samples.prepareTracking.cpu);
  console.log(`  MIME floor / prepareTracking (CPU): ${ratio.toFixed(2)}, the share of its time any correct body rewriter would spend too`);
  // The machine drifts between rounds; passes of one round run seconds apart, so their ratio compares like with like.
  const perRound = ratiosByRound(samples.prepareTracking.cpu, samples['MIME floor'].cpu);
  console.log(
    `  prepareTracking / MIME floor (CPU), median of the rounds' own ratios: ${median(perRound).toFixed(2)}x (rounds: ${perRound.map((r) => r.toFixed(2)).join(', ')})`,
  );
  // Interference only ever adds time: each pass's fastest round is its cost with the least of it.
  const best = (pass: PassName): number => Math.min(...samples[pass].cpu);
  console.log(
    `  prepareTracking / MIME floor (CPU), fastest round of each: ${(best('prepareTracking') / best('MIME floor')).toFixed(2)}x ` +
      `(${best('prepareTracking').toFixed(0)} against ${best('MIME floor').toFixed(0)} µs)`,
  );
  const againstParse5 = ratiosByRound(samples.prepareTracking.cpu, samples['parse5 floor'].cpu);
  console.log(`  prepareTracking / parse5 floor (CPU), the same way: ${median(againstParse5).toFixed(2)}x`);
  const personal = ratiosByRound(samples['per subscriber'].cpu, samples.prepareTracking.cpu);
  console.log(
    `  per subscriber / prepareTracking (CPU), the same way: ${median(personal).toFixed(2)}x ` +
      `(copies with a subscriber id each against one copy sent over and over); over the MIME floor: ` +
      `${median(ratiosByRound(samples['per subscriber'].cpu, samples['MIME floor'].cpu)).toFixed(2)}x`,
  );
  const floorCpu = samples['MIME floor'].cpu;
  const tokensCpu = samples['click tokens'].cpu;
  const signedFloor = floorCpu.map((floor, round) => (floor + tokensCpu[round]!) / floor);
  console.log(
    `  (MIME floor + click tokens) / MIME floor (CPU), the same way: ${median(signedFloor).toFixed(2)}x ` +
      `(${links} tokens, ${median(tokensCpu).toFixed(0)} µs): the least a rewriter that signs every link pays, before it finds, judges or writes one`,
  );
}

const { values: args } = parseArgs({ options: { pass: { type: 'string' }, sample: { type: 'string' }, links: { type: 'string' } } });
if (args.pass !== undefined) {
  if (!(PASSES as readonly string[]).includes(args.pass)) throw new Error(`--pass: one of ${PASSES.join(', ')}`);
  servePass(args.pass as PassName, Number(args.sample), Number(args.links));
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
