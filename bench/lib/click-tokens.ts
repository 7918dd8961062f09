/**
 * The stateful click tokens of one message, as its minter makes them: one frame per message, then
 * `links` tokens, alternately in the HTML and the text part. bench:message times them against its
 * MIME floor, bench:message-builds one build's against another's.
 */
import { createHash } from 'node:crypto';
import type * as TokensModule from '../../src/tokens/index.js';

type Keyring = ReturnType<typeof TokensModule.createKeyring>;

/** Mints one message's `links` click tokens per call, each message with an id of its own (of 1,000). */
export function messageClickTokens(statefulClickMinter: typeof TokensModule.statefulClickMinter, keyring: Keyring, links: number): () => void {
  const rowIds = Array.from({ length: links }, (_, i) => createHash('sha256').update(`row ${i}`).digest().subarray(0, 12));
  const messageIds = Array.from({ length: 1000 }, (_, i) => Buffer.from(`bench-message-${i}`));
  let message = 0;
  return () => {
    const mintClick = statefulClickMinter(keyring, messageIds[message++ % messageIds.length]!);
    for (let i = 0; i < links; i++) mintClick({ rowId: rowIds[i]!, position: (i >> 1) + 1, part: (i & 1) === 0 ? 'h' : 't' });
  };
}
