import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { createKeyring, signingKey, type Keyring, type SigningKey } from '../../src/tokens/keyring.js';
import type { StatelessClick } from '../../src/tokens/tokens.js';

/** A fixed key per (kid, label): tests are reproducible and two labels give two different secrets. */
export function testKey(kid: number, label = 'a'): SigningKey {
  return signingKey(kid, createHash('sha256').update(`test key ${label} ${kid}`).digest());
}

export function testKeyring(keys: SigningKey[] = [testKey(1)], currentKid = keys[0]?.kid ?? 1): Keyring {
  return createKeyring(keys, currentKid);
}

export const anyText = fc.string({ unit: 'grapheme', maxLength: 40 });
export const anyPart = fc.constantFrom('h' as const, 't' as const);
export const anyPosition = fc.integer({ min: 0, max: 2 ** 31 - 1 });

export const anyStatelessClick: fc.Arbitrary<StatelessClick> = fc.record(
  {
    recipient: fc.oneof(fc.emailAddress(), anyText),
    url: fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), anyText),
    sendId: anyText,
    listId: anyText,
    emailCode: anyText,
    position: anyPosition,
    part: anyPart,
    linkName: anyText.filter((name) => name.length > 0),
    // Tokens keep whole seconds, up to the varint's 35 bits.
    sentAt: fc.integer({ min: 0, max: 2 ** 35 - 1 }).map((seconds) => seconds * 1000),
  },
  { requiredKeys: ['recipient', 'url', 'sendId', 'listId', 'emailCode', 'position', 'part'] },
);

export const anyMessageId = fc.uint8Array({ minLength: 8, maxLength: 12 });

/** A 200-character campaign URL and a 60-character address, as in the length check. */
export const LONG_URL = (() => {
  const head =
    'https://www.example-shop.com/collections/spring-sale/products/linen-shirt-relaxed-fit?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale_2024&utm_content=hero&sub=';
  return head + '8f3a9c21e7b04d5f6a1c2e3d4b5a6978'.slice(0, 200 - head.length);
})();
export const LONG_ADDRESS = (() => {
  const domain = '@mail.example-university.edu';
  return 'alexandra.konstantinopoulou.newsletters'.slice(0, 60 - domain.length) + domain;
})();

/** Reproducible text with nothing for a compressor to find: base64url of a SHA-256 chain. */
export function noise(length: number, seed = 'noise'): string {
  const blocks: Buffer[] = [];
  for (let i = 0; blocks.length * 43 < length; i++) blocks.push(createHash('sha256').update(`${seed} ${i}`).digest());
  return blocks
    .map((block) => block.toString('base64url'))
    .join('')
    .slice(0, length);
}
