/**
 * Token and X-Mailer-Info-Extra decoding. Inputs: random strings; minted tokens of every kind (under the
 * current key, an older key still held, and a key we do not hold) with their text mutated; frames
 * re-sealed under our own key with a mutated body (so the body parsers see hostile bytes behind a valid
 * MAC); info header values mutated, refolded and swapped with tokens.
 *
 * Invariants: decodeToken / decodeInfoHeader never throw; a value that verifies is byte-identical to one
 * minted in this case (for the info header: after removing whitespace, which folding inserts), or was
 * re-sealed under our key on purpose; an unmutated token decodes to exactly the fields it was minted with.
 */
import { createHash } from 'node:crypto';
import {
  createKeyring,
  decodeInfoHeader,
  decodeToken,
  encodeInfoHeader,
  mintStatefulClick,
  mintStatefulOpen,
  mintStatelessClick,
  mintStatelessOpen,
  signingKey,
  type Keyring,
  type RecipientIdentity,
} from '../../src/tokens/index.js';
import { seal, type KindCode } from '../../src/tokens/seal.js';
import { mutateBytes } from '../mutate.js';
import type { Rng } from '../random.js';
import type { FuzzCase, FuzzTarget, Problem, TargetSession } from '../target.js';

function key(kid: number, label: string) {
  return signingKey(kid, createHash('sha256').update(`fuzz key ${label}`).digest());
}

/** Ours: kid 1 current, kid 7 an older key still held. */
const OURS = createKeyring([key(1, 'current'), key(7, 'older')], 1);
const OLDER = createKeyring([key(7, 'older')], 7);
/** Someone else's key with the same kid as our current one. */
const FOREIGN = createKeyring([key(1, 'foreign')], 1);

type TokenKind = 'stateful-click' | 'stateful-open' | 'stateless-click' | 'stateless-open';

export interface TokenCase extends FuzzCase {
  /** What is decoded: a token, or an info header value. */
  decoder: 'token' | 'info' | 'both';
  value: string;
  /** Values minted by us in this case, any of which may verify (token text, or info value without whitespace). */
  minted: string[];
  /** The fields the unmutated value was minted with, when `value` is one of `minted` unchanged. */
  expected?: Record<string, unknown>;
  /** A frame we re-sealed under our own key: verifying is allowed, only throwing is not. */
  resealed: boolean;
  /** What was minted: a link token or an info header value (null for random text). */
  family: 'token' | 'info' | null;
}

const ALPHABETS = {
  token: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_~',
  base64url: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-',
  any: 'ABCabc019_~-+/=%. \t\r\n\0\u00e9\u{1f600}\ud800<>"\'&?#',
};

function randomText(rng: Rng): string {
  const n = rng.chance(0.02) ? rng.int(4000, 9000) : rng.skewed(300);
  if (rng.chance(0.1)) {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(rng.below(0x10000));
    return s;
  }
  return rng.text(n, ALPHABETS[rng.pick(['token', 'base64url', 'any'] as const)]);
}

function identity(rng: Rng): RecipientIdentity {
  const field = (): string =>
    rng.chance(0.2)
      ? ''
      : randomText(rng)
          .replace(/[\ud800-\udfff]/g, 'x')
          .slice(0, rng.pick([8, 40, 200]));
  return { recipient: field(), sendId: field(), listId: field(), emailCode: field() };
}

function mintToken(rng: Rng, keyring: Keyring): { kind: TokenKind; token: string; fields: Record<string, unknown> } {
  const kind = rng.pick<TokenKind>(['stateful-click', 'stateful-open', 'stateless-click', 'stateless-open']);
  const place = { position: rng.chance(0.1) ? 2 ** 31 - 1 : rng.skewed(2000), part: rng.pick(['h', 't'] as const) };
  const messageId = rng.bytes(rng.int(1, 32));
  switch (kind) {
    case 'stateful-click': {
      const rowId = rng.bytes(12);
      return { kind, token: mintStatefulClick(keyring, { rowId, messageId, ...place }), fields: { rowId, messageId, ...place } };
    }
    case 'stateful-open':
      return { kind, token: mintStatefulOpen(keyring, { messageId }), fields: { messageId } };
    case 'stateless-click': {
      const url =
        rng.pick(['https://', 'http://', '', 'HTTPS://', 'javascript:']) +
        randomText(rng)
          .replace(/[\ud800-\udfff]/g, 'x')
          .slice(0, 600);
      const click = { ...identity(rng), url, ...place };
      return { kind, token: mintStatelessClick(keyring, click), fields: click };
    }
    case 'stateless-open': {
      const open = identity(rng);
      return { kind, token: mintStatelessOpen(keyring, open), fields: { ...open } };
    }
  }
}

/** Mutations of token or header text, by character. */
function mutateText(rng: Rng, text: string, alphabet: string): { text: string; label: string } {
  const at = rng.below(text.length + 1);
  const ch = (): string => rng.pick([...alphabet]);
  switch (rng.below(10)) {
    case 0:
      return { text: text.slice(0, at) + ch() + text.slice(at + 1), label: `replace @${at}` };
    case 1:
      return { text: text.slice(0, at) + ch() + text.slice(at), label: `insert @${at}` };
    case 2:
      return { text: text.slice(0, at) + text.slice(at + 1), label: `delete @${at}` };
    case 3:
      return { text: text.slice(0, at), label: `truncate @${at}` };
    case 4:
      return { text: text + rng.text(1 + rng.skewed(8), alphabet), label: 'append' };
    case 5:
      return { text: text.slice(0, at) + text.slice(at + 1, at + 2) + text.slice(at, at + 1) + text.slice(at + 2), label: `swap @${at}` };
    case 6: {
      const c = text.charAt(at);
      const flipped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
      return { text: text.slice(0, at) + flipped + text.slice(at + 1), label: `case @${at}` };
    }
    case 7:
      return { text: text.replaceAll(rng.pick(['~', '-', '_']), rng.pick(['~', '-', '_', '%7E', '%7e', '+', '/'])), label: 'swap separators' };
    case 8:
      return { text: text.slice(0, at) + rng.pick([' ', '\t', '\r\n ', '\n\t', '\u00a0', '\u2028']) + text.slice(at), label: `whitespace @${at}` };
    default:
      return { text: text + text.slice(0, rng.skewed(text.length)), label: 'extend with itself' };
  }
}

/** A token's frame with its body mutated and sealed again under our own key. */
function resealed(rng: Rng): { value: string; label: string } {
  const minted = mintToken(rng, OURS);
  const sealed = Buffer.from(minted.token.replaceAll('~', '-'), 'base64url');
  const body = sealed.subarray(2, sealed.length - 12);
  const mutated = mutateBytes(rng, body);
  const kind = (rng.chance(0.8) ? sealed[0]! & 0x0f : rng.int(0, 15)) as KindCode;
  const frame = seal(OURS.current, kind, mutated.data);
  return { value: frame.toString('base64url').replaceAll('-', '~'), label: `reseal ${minted.kind} kind ${kind}: ${mutated.label}` };
}

function generate(rng: Rng): TokenCase {
  const choice = rng.below(10);
  const textCase = (c: Omit<TokenCase, 'input'>): TokenCase => ({
    ...c,
    input: Buffer.from(c.value, 'utf8'),
    details: { decoder: c.decoder, minted: c.minted },
  });
  if (choice === 0) {
    return textCase({ label: 'random text', decoder: 'both', value: randomText(rng), minted: [], resealed: false, family: null });
  }
  if (choice === 1) {
    const r = resealed(rng);
    return textCase({ label: r.label, decoder: 'token', value: r.value, minted: [], resealed: true, family: 'token' });
  }
  if (choice <= 3) {
    const fields = identity(rng);
    const keyring = rng.pick([OURS, OURS, OLDER, FOREIGN]);
    const value = encodeInfoHeader(keyring, fields);
    const ours = keyring !== FOREIGN;
    const minted = ours ? [value.replace(/\s+/g, '')] : [];
    const n = rng.skewed(4);
    let text = value;
    const labels = [`info header (${ours ? `kid ${keyring.current.kid}` : 'foreign key'})`];
    for (let i = 0; i < n; i++) {
      const m = mutateText(rng, text, ALPHABETS[rng.pick(['base64url', 'any'] as const)]);
      text = m.text;
      labels.push(m.label);
    }
    const decoder = rng.chance(0.85) ? 'info' : 'token';
    return textCase({
      label: labels.join('; '),
      decoder,
      value: text,
      minted,
      resealed: false,
      family: 'info',
      ...(n === 0 && ours ? { expected: { ...fields } } : {}),
    });
  }
  const keyring = rng.pick([OURS, OURS, OLDER, FOREIGN]);
  const minted = mintToken(rng, keyring);
  const ours = keyring !== FOREIGN;
  const n = rng.skewed(4);
  let text = minted.token;
  const labels = [`${minted.kind} (${ours ? `kid ${keyring.current.kid}` : 'foreign key'})`];
  for (let i = 0; i < n; i++) {
    const m = mutateText(rng, text, ALPHABETS[rng.pick(['token', 'token', 'any'] as const)]);
    text = m.text;
    labels.push(m.label);
  }
  const decoder = rng.chance(0.9) ? 'token' : 'info';
  return textCase({
    label: labels.join('; '),
    decoder,
    value: text,
    minted: ours ? [minted.token] : [],
    resealed: false,
    family: 'token',
    ...(n === 0 && ours ? { expected: { kind: minted.kind, ...minted.fields } } : {}),
  });
}

function sameFields(decoded: Record<string, unknown>, expected: Record<string, unknown>): string | null {
  for (const [name, want] of Object.entries(expected)) {
    const got = decoded[name];
    const equal = want instanceof Uint8Array ? got instanceof Uint8Array && Buffer.compare(Buffer.from(got), Buffer.from(want)) === 0 : got === want;
    if (!equal) return `${name}: decoded ${JSON.stringify(got)} instead of ${JSON.stringify(want)}`;
  }
  return null;
}

/** Values that verified (unmutated minted ones, mostly): shows the accepting path runs too. */
let verified = 0;

function execute(c: TokenCase): Problem[] {
  const problems: Problem[] = [];
  const decoders = c.decoder === 'both' ? (['token', 'info'] as const) : [c.decoder];
  for (const decoder of decoders) {
    const result = decoder === 'token' ? decodeToken(OURS, c.value) : decodeInfoHeader(OURS, c.value);
    if (!result.ok || c.resealed) continue;
    verified++;
    const comparable = decoder === 'info' ? c.value.replace(/\s+/g, '') : c.value;
    if (!c.minted.includes(comparable)) {
      problems.push({ kind: 'violation', message: `forgery: the ${decoder} decoder accepted a value never minted: ${JSON.stringify(c.value.slice(0, 200))}` });
      continue;
    }
    if (decoder !== c.family) {
      problems.push({ kind: 'violation', message: `the ${decoder} decoder accepted a ${c.family ?? 'random'} value` });
      continue;
    }
    if (c.expected) {
      const wrong = sameFields(result as unknown as Record<string, unknown>, c.expected);
      if (wrong) problems.push({ kind: 'violation', message: `round trip: ${wrong}` });
    }
  }
  return problems;
}

export const tokensTarget: FuzzTarget<TokenCase> = {
  name: 'tokens',
  caseTimeoutMs: 5_000,
  async start(ctx): Promise<TargetSession<TokenCase>> {
    return {
      generate,
      execute: (c) => {
        ctx.count(c.resealed ? 'resealed' : c.minted.length > 0 ? 'minted-then-mutated' : 'unminted');
        const before = verified;
        const problems = execute(c);
        if (verified > before) ctx.count('verified');
        return problems;
      },
      close: () => undefined,
    };
  },
  async generator() {
    return generate;
  },
};
