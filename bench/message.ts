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
 * quoted-printable; and the first of them with its parts in base64 (bench/lib/base64-variant.ts), as
 * many senders' HTML comes. Passes, in CPU time per message:
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
 */
import { execFileSync } from 'node:child_process';
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
import { asBase64 } from './lib/base64-variant.js';
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
  /** What the body and its copies are sent as (the base64 sample). */
  sentAs?: (body: Buffer) => Buffer;
}

/** Copies of one send, as a list's mail is: the same body with a subscriber id of its own in each. */
const COPIES = 256;

function messages(): Sample[] {
  const own = buildNewsletter();
  const list: Sample[] = [{ name: 'own test newsletter', headers: own.headers, body: own.body }];
  if (NEWSLETTER_SCRIPT.present) {
    const raw = execFileSync('python3', [MAKE_NEWSLETTER, String(LINKS)], { maxBuffer: 64 << 20 });
    list.unshift({ name: `bench:mta newsletter, ${LINKS} links`, ...splitMessage(raw) });
  } else {
    console.log(`(${NEWSLETTER_SCRIPT.absence}: only our own newsletter is measured)`);
  }
  const first = list[0]!;
  list.push({ ...first, name: `${first.name}, in base64`, sentAs: asBase64 });
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

function passesFor({ headers, body: written, sentAs = (body) => body }: Sample): { passes: Record<string, () => void>; links: number; bodyBytes: number } {
  const body = sentAs(written);
  const copies = subscriberCopies(written, COPIES).map(sentAs);
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
  const links = track(body);
  const passes = {
    prepareTracking: () => track(body),
    'per subscriber': () => track(copies[queue % COPIES]!),
    'MIME floor': () => floorPass(headers, body, (text) => tokenizeHtml(text, silentHandler)),
    'parse5 floor': () => floorPass(headers, body, (text) => new Tokenizer({ sourceCodeLocationInfo: true }, bareParse5Handler).write(text, true)),
    'click tokens': messageClickTokens(statefulClickMinter, keyring, links),
  };
  return { passes, links, bodyBytes: body.length };
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

console.log(`bench:message: ${ROUNDS} interleaved rounds after ${WARMUP} messages of warm-up per pass, medians per message; node ${process.version}`);
for (const sample of messages()) {
  const { passes, links, bodyBytes } = passesFor(sample);
  const repeat = Math.max(20, Math.round(250_000 / timePerRun(passes.prepareTracking!, 20).wall));
  // Warm-up in rounds like the timed ones, so each pass compiles with the others' type feedback around.
  for (let warmed = 0; warmed < WARMUP; warmed += repeat) for (const pass of Object.values(passes)) timePerRun(pass, repeat);
  const samples: Record<string, { cpu: number[]; wall: number[] }> = Object.fromEntries(Object.keys(passes).map((pass) => [pass, { cpu: [], wall: [] }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [pass, run] of Object.entries(passes)) {
      const { cpu, wall } = timePerRun(run, repeat);
      samples[pass]!.cpu.push(cpu);
      samples[pass]!.wall.push(wall);
    }
  }
  console.log(`\n${sample.name} (${(bodyBytes / 1024).toFixed(1)} KB of body)`);
  console.log('  pass              CPU µs (all threads)  wall µs (main)  msg/s per core (CPU)');
  for (const [pass, { cpu, wall }] of Object.entries(samples)) {
    console.log(
      `  ${pass.padEnd(16)}  ${median(cpu).toFixed(0).padStart(20)}  ${median(wall).toFixed(0).padStart(14)}  ${(1e6 / median(cpu)).toFixed(0).padStart(20)}`,
    );
  }
  const ratio = median(samples['MIME floor']!.cpu) / median(samples.prepareTracking!.cpu);
  console.log(`  MIME floor / prepareTracking (CPU): ${ratio.toFixed(2)}, the share of its time any correct body rewriter would spend too`);
  // The machine drifts between rounds; passes of one round run seconds apart, so their ratio compares like with like.
  const perRound = ratiosByRound(samples.prepareTracking!.cpu, samples['MIME floor']!.cpu);
  console.log(
    `  prepareTracking / MIME floor (CPU), median of the rounds' own ratios: ${median(perRound).toFixed(2)}x (rounds: ${perRound.map((r) => r.toFixed(2)).join(', ')})`,
  );
  // Interference only ever adds time: each pass's fastest round is its cost with the least of it.
  const best = (pass: string): number => Math.min(...samples[pass]!.cpu);
  console.log(
    `  prepareTracking / MIME floor (CPU), fastest round of each: ${(best('prepareTracking') / best('MIME floor')).toFixed(2)}x ` +
      `(${best('prepareTracking').toFixed(0)} against ${best('MIME floor').toFixed(0)} µs)`,
  );
  const againstParse5 = ratiosByRound(samples.prepareTracking!.cpu, samples['parse5 floor']!.cpu);
  console.log(`  prepareTracking / parse5 floor (CPU), the same way: ${median(againstParse5).toFixed(2)}x`);
  const personal = ratiosByRound(samples['per subscriber']!.cpu, samples.prepareTracking!.cpu);
  console.log(
    `  per subscriber / prepareTracking (CPU), the same way: ${median(personal).toFixed(2)}x ` +
      `(copies with a subscriber id each against one copy sent over and over); over the MIME floor: ` +
      `${median(ratiosByRound(samples['per subscriber']!.cpu, samples['MIME floor']!.cpu)).toFixed(2)}x`,
  );
  const floorCpu = samples['MIME floor']!.cpu;
  const tokensCpu = samples['click tokens']!.cpu;
  const signedFloor = floorCpu.map((floor, round) => (floor + tokensCpu[round]!) / floor);
  console.log(
    `  (MIME floor + click tokens) / MIME floor (CPU), the same way: ${median(signedFloor).toFixed(2)}x ` +
      `(${links} tokens, ${median(tokensCpu).toFixed(0)} µs): the least a rewriter that signs every link pays, before it finds, judges or writes one`,
  );
}
