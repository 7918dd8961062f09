// The self-check in src/mime/part.ts: re-encoded bytes that would not decode to the new text never go out.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type * as Transfer from '../../src/mime/transfer.js';
import { LIMITS, message } from './helpers.js';

// A switch on the real encoders: off, they are themselves; on, they drop one byte of what they write.
const broken = vi.hoisted(() => ({ on: false }));
vi.mock('../../src/mime/transfer.js', async (importOriginal) => {
  const real = await importOriginal<typeof Transfer>();
  const damage = (bytes: Buffer): Buffer => (broken.on ? Buffer.concat([bytes.subarray(0, 10), bytes.subarray(11)]) : bytes);
  return {
    ...real,
    encodeQuotedPrintable: (...args: Parameters<typeof real.encodeQuotedPrintable>) => damage(real.encodeQuotedPrintable(...args)),
    encodeBase64: (...args: Parameters<typeof real.encodeBase64>) => damage(real.encodeBase64(...args)),
  };
});
const { rewriteBody } = await import('../../src/mime/index.js');

const part = (cte: string, content: string) => message(`Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: ${cte}\n\n${content}\n`);
const qp = part('quoted-printable', 'caf=C3=A9 =E2=80=94 http://example.com/a');
const b64 = part('base64', Buffer.from('café — http://example.com/a').toString('base64'));
const rewrite = ({ headers, body }: ReturnType<typeof part>) =>
  rewriteBody(headers, body, (_kind, text) => text.replace('http://example.com/a', 'https://t.example/c/XYZ'), LIMITS);

afterEach(() => {
  broken.on = false;
});

describe('the self-check after re-encoding', () => {
  it.each([
    ['quoted-printable', qp],
    ['base64', b64],
  ])('passes a sound %s encoding', (_cte, msg) => {
    const result = rewrite(msg);
    expect(result.parts[0]!.skipped).toBeUndefined();
    expect(result.body).not.toBeNull();
  });

  it.each([
    ['quoted-printable', qp],
    ['base64', b64],
  ])('stops a %s encoder that loses a byte: the part goes out as it came', (_cte, msg) => {
    broken.on = true;
    const result = rewrite(msg);
    expect(result.parts[0]!.skipped?.code).toBe('self-check-failed');
    expect(result.body).toBeNull();
  });
});
