/**
 * Link token benchmark: tokens minted and verified per second for each kind, with plain HMAC-SHA256 over
 * a payload of the same size measured in the same run as the reference (the floor: every mint and
 * every verify computes one such HMAC).
 *
 *   tsx bench/tokens.ts      BENCH_SECONDS=1: seconds per measurement (after a warm-up of a fifth of that)
 *
 * "verify" is the redirector's work on a token: text to bytes, MAC check, body decode (and inflate for
 * stateless kinds). A ratio of 1.00 means as fast as the bare HMAC; below, the share of other work.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { decodeInfoHeader, encodeInfoHeader } from '../src/tokens/info-header.js';
import { createKeyring, signingKey } from '../src/tokens/keyring.js';
import { decodeTokenText } from '../src/tokens/token-text.js';
import { decodeToken, mintStatefulClick, mintStatefulOpen, mintStatelessClick, mintStatelessOpen } from '../src/tokens/tokens.js';
import { splitQuery, urlRowId } from '../src/tokens/url-row.js';
import { MAC_BYTES } from '../src/tokens/seal.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
if (!(SECONDS > 0)) throw new Error(`BENCH_SECONDS must be a positive number, got ${process.env.BENCH_SECONDS}`);

const keyring = createKeyring([signingKey(1, randomBytes(32))], 1);

// The length case: a 200-character campaign URL and a 60-character address.
const URL_200 =
  'https://www.example-shop.com/collections/spring-sale/products/linen-shirt-relaxed-fit?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale_2024&utm_content=hero&sub=8f3a9c21e7b04d5f6a1c2e3d';
const ADDRESS_60 = 'alexandra.konstantinopoulou.news@mail.example-university.edu';
const identity = { recipient: ADDRESS_60, sendId: 'a100525', listId: 'list-2024-07', emailCode: 'c8f31d0e2a' };
const rowId = urlRowId(keyring.current, { sendId: identity.sendId, listId: identity.listId, url: splitQuery(URL_200).rowUrl, linkName: '' });
const messageId = randomBytes(12);

interface Kind {
  name: string;
  mint: () => string;
  verify: (token: string) => boolean;
  /** Bytes the MAC covers, for the HMAC reference. */
  signedBytes: (token: string) => number;
}

const tokenSigned = (token: string) => (decodeTokenText(token) as Buffer).length - MAC_BYTES;
const verifyToken = (token: string) => decodeToken(keyring, token).ok;

const KINDS: Kind[] = [
  {
    name: 'stateful click',
    mint: () => mintStatefulClick(keyring, { rowId, messageId, position: 12, part: 'h' }),
    verify: verifyToken,
    signedBytes: tokenSigned,
  },
  { name: 'stateful open', mint: () => mintStatefulOpen(keyring, { messageId }), verify: verifyToken, signedBytes: tokenSigned },
  {
    name: 'stateless click',
    mint: () => mintStatelessClick(keyring, { ...identity, url: URL_200, position: 12, part: 'h', linkName: 'hero', sentAt: Date.now() }),
    verify: verifyToken,
    signedBytes: tokenSigned,
  },
  { name: 'stateless open', mint: () => mintStatelessOpen(keyring, identity), verify: verifyToken, signedBytes: tokenSigned },
  {
    name: 'info header',
    mint: () => encodeInfoHeader(keyring, identity),
    verify: (value) => decodeInfoHeader(keyring, value).ok,
    signedBytes: (value) => Buffer.from(value.replace(/ /g, ''), 'base64url').length - MAC_BYTES,
  },
];

/** Operations per second of `op` over about `seconds`. */
function timedRate(op: () => unknown, seconds: number): number {
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  let count = 0;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 50; i++) op();
    count += 50;
    now = process.hrtime.bigint();
  }
  return count / (Number(now - start) / 1e9);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] as number;

/**
 * Rates of several operations measured side by side: SECONDS each in all, as ROUNDS interleaved slices,
 * the median slice reported. Interleaving spreads the noise of a busy machine over all of them alike,
 * so their ratios stay meaningful.
 */
const ROUNDS = 5;
function interleavedRates(ops: Array<() => unknown>): number[] {
  for (const op of ops) timedRate(op, SECONDS / 5); // warm-up: JIT, zlib and crypto first-use costs
  const slices = ops.map((): number[] => []);
  for (let round = 0; round < ROUNDS; round++) ops.forEach((op, i) => slices[i]?.push(timedRate(op, SECONDS / ROUNDS)));
  return slices.map(median);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const rows: string[][] = [['kind', 'token chars', 'signed bytes', 'mint/s', 'verify/s', 'HMAC-SHA256/s', 'mint:HMAC', 'verify:HMAC']];
for (const kind of KINDS) {
  const sample = kind.mint();
  if (!kind.verify(sample)) throw new Error(`${kind.name}: a fresh token does not verify`);
  const signed = kind.signedBytes(sample);
  // The reference: HMAC-SHA256 of a payload as long as what the token's MAC covers, key given as bytes.
  const hmacKey = randomBytes(32);
  const payload = randomBytes(signed);
  const [mintRate, verifyRate, hmacRate] = interleavedRates([
    kind.mint,
    () => kind.verify(sample),
    () => createHmac('sha256', hmacKey).update(payload).digest(),
  ]) as [number, number, number];
  rows.push([
    kind.name,
    String(sample.length),
    String(signed),
    fmt(mintRate),
    fmt(verifyRate),
    fmt(hmacRate),
    (mintRate / hmacRate).toFixed(2),
    (verifyRate / hmacRate).toFixed(2),
  ]);
}

const widths = (rows[0] as string[]).map((_, col) => Math.max(...rows.map((row) => (row[col] as string).length)));
console.log(`link tokens, ${SECONDS} s per measurement, Node ${process.version}`);
for (const row of rows) console.log(row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col] as number) : cell.padStart(widths[col] as number))).join('  '));
