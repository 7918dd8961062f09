/**
 * Two builds of the milter's message work in one process, round for round: `prepareTracking` of
 * the build in BENCH_BASE_DIST against the one in dist/, on bench:mta's newsletter (benchNewsletter:
 * our own test newsletter without ../shared) sent as one copy over and over and as copies with a
 * subscriber id each. Separate processes on this VM differ by a fifth from one minute to the next;
 * rounds of the two builds taken back to back do not.
 *
 *   git worktree add /tmp/base <commit> && (cd /tmp/base && npm ci && npm run build)
 *   npm run build && BENCH_BASE_DIST=/tmp/base/dist tsx bench/message-builds.ts
 *
 * BENCH_SENT_AS=base64 sends the newsletter's parts in base64, BENCH_SENT_AS=windows-1252 in
 * windows-1252 (bench/lib/sent-as.ts), instead of quoted-printable UTF-8.
 *
 * BENCH_ROUNDS (15) rounds of BENCH_MESSAGES (400) messages per build and message kind. Prints each
 * build's median CPU µs a message and the median of the rounds' ratios (this build over the base).
 * Then the tokens' share alone, the same way: a message's 80 stateful click tokens minted (40 links in
 * two parts, bench/lib/click-tokens.ts), and one verified as the redirector does per click (decodeToken).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as ConfigModule from '../src/config/load.js';
import type * as CachesModule from '../src/tracking/tracking-caches.js';
import type * as SettingsModule from '../src/tracking/settings.js';
import type * as FilterModule from '../src/tracking/tracking-filter.js';
import type * as TokensModule from '../src/tokens/index.js';
import type * as SplitModule from '../src/mime/message-split.js';
import { SENT_AS, sentAs as sentAsOf, type SentAs } from './lib/sent-as.js';
import { benchNewsletter } from './lib/bench-newsletter.js';
import { built } from './lib/built.js';
import { messageClickTokens } from './lib/click-tokens.js';
import { subscriberCopies } from './lib/copies.js';
import { envInt, median, ratiosByRound } from './lib/figures.js';

const ROUNDS = envInt('BENCH_ROUNDS', 15, 1);
const MESSAGES = envInt('BENCH_MESSAGES', 400, 1);
const COPIES = 512;
const BASE_DIST = process.env.BENCH_BASE_DIST;
const SENT = process.env.BENCH_SENT_AS ?? 'quoted-printable';
if (!(SENT_AS as readonly string[]).includes(SENT)) throw new Error(`BENCH_SENT_AS: one of ${SENT_AS.join(', ')}, not ${SENT}`);
const sentAs = sentAsOf(SENT as SentAs);
const THIS_DIST = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');

type Track = (messages: number) => void;

/** prepareTracking of the build in `dist`, with its own caches, over the message or its copies in turn. */
async function trackerOf(dist: string, raw: Buffer, personal: boolean): Promise<Track> {
  const from = pathToFileURL(`${path.resolve(dist)}/`);
  const [{ defaultConfig }, { TrackingCaches }, { trackingHosts }, { prepareTracking }, { createKeyring, signingKey }, { splitMessage }] = await Promise.all([
    built<typeof ConfigModule>('config/load.js', from),
    built<typeof CachesModule>('tracking/tracking-caches.js', from),
    built<typeof SettingsModule>('tracking/settings.js', from),
    built<typeof FilterModule>('tracking/tracking-filter.js', from),
    built<typeof TokensModule>('tokens/index.js', from),
    built<typeof SplitModule>('mime/message-split.js', from),
  ]);
  const messages = (personal ? subscriberCopies(raw, COPIES) : [raw]).map((message) => splitMessage(sentAs(message)));
  const config = defaultConfig();
  const keyring = createKeyring([signingKey(1, createHash('sha256').update('bench:message-builds key').digest())], 1);
  const caches = new TrackingCaches(trackingHosts(config));
  const envelope = (address: string) => ({ address, args: [] });
  let queue = 0;
  return (count) => {
    for (let i = 0; i < count; i++) {
      const { headers, body } = messages[queue % messages.length]!;
      const outcome = prepareTracking(
        { headers, body, queueId: `Q${queue++}`, from: envelope('news@shop.example'), recipients: [envelope('reader@example.net')] },
        config,
        keyring,
        caches,
      );
      if (outcome.kind !== 'track') throw new Error(`${dist}: the message was not tracked: ${outcome.kind}`);
    }
  };
}

/**
 * The token work of the build in `dist`: minting `count` messages' click tokens, or verifying 100 clicks
 * `count` times (so that cpuPerMessage's figure, times 10, is ns a click).
 */
async function tokenWorkOf(dist: string): Promise<{ mint: Track; verify: Track }> {
  const { createKeyring, signingKey, statefulClickMinter, decodeToken } = await built<typeof TokensModule>(
    'tokens/index.js',
    pathToFileURL(`${path.resolve(dist)}/`),
  );
  const keyring = createKeyring([signingKey(1, createHash('sha256').update('bench:message-builds key').digest())], 1);
  const rowId = createHash('sha256').update('a row').digest().subarray(0, 12);
  const token = statefulClickMinter(keyring, Buffer.from('bench-message-1'))({ rowId, position: 1, part: 'h' });
  const mintMessage = messageClickTokens(statefulClickMinter, keyring, 80);
  return {
    mint: (count) => {
      for (let i = 0; i < count; i++) mintMessage();
    },
    verify: (count) => {
      for (let i = 0; i < 100 * count; i++) if (!decodeToken(keyring, token).ok) throw new Error(`${dist}: the token did not verify`);
    },
  };
}

/** Both builds' work in turn, BENCH_ROUNDS times after a warm-up: each one's median and their ratios. */
function compareRounds(base: Track, current: Track, warmUp: number): { base: number; current: number; ratios: number[] } {
  base(warmUp);
  current(warmUp);
  const baseCpu: number[] = [];
  const currentCpu: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    baseCpu.push(cpuPerMessage(base));
    currentCpu.push(cpuPerMessage(current));
  }
  return { base: median(baseCpu), current: median(currentCpu), ratios: ratiosByRound(currentCpu, baseCpu) };
}

function describe(name: string, unit: string, scale: number, { base, current, ratios }: ReturnType<typeof compareRounds>): string {
  return (
    `${name}: base ${(base * scale).toFixed(0)} ${unit}, this build ${(current * scale).toFixed(0)} ${unit}; this build over the base, ` +
    `median of the rounds' ratios ${median(ratios).toFixed(3)} (${Math.min(...ratios).toFixed(2)} to ${Math.max(...ratios).toFixed(2)})`
  );
}

function cpuPerMessage(track: Track): number {
  const start = process.cpuUsage();
  track(MESSAGES);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / MESSAGES;
}

async function main(): Promise<void> {
  if (!BASE_DIST) throw new Error('BENCH_BASE_DIST must name the dist/ of the build to compare with');
  const raw = await benchNewsletter('bench:message-builds', 40);
  console.log(`${ROUNDS} rounds of ${MESSAGES} messages a build, sent as ${SENT}; base ${BASE_DIST}, this build ${THIS_DIST}; node ${process.version}`);
  for (const personal of [false, true]) {
    const base = await trackerOf(BASE_DIST, raw, personal);
    const current = await trackerOf(THIS_DIST, raw, personal);
    // The warm-up also fills the caches, as on a thread that has been running.
    const figures = compareRounds(base, current, 3 * MESSAGES);
    console.log(describe(personal ? `${COPIES} copies, a subscriber id each` : 'one copy over and over', 'µs a message', 1, figures));
  }
  const baseTokens = await tokenWorkOf(BASE_DIST);
  const currentTokens = await tokenWorkOf(THIS_DIST);
  console.log(describe("a message's 80 stateful click tokens minted", 'µs', 1, compareRounds(baseTokens.mint, currentTokens.mint, 3 * MESSAGES)));
  console.log(describe('one stateful click token verified', 'ns', 10, compareRounds(baseTokens.verify, currentTokens.verify, 3 * MESSAGES)));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
