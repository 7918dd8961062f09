/**
 * REFERENCE base64 decoding and ambiguity check: a verbatim copy of decodeBase64 and base64Ambiguity
 * from src/mime/transfer.ts as of commit f13fd0f, before plain content went to Node's decoder in one
 * call. The fast versions in src/mime/transfer.ts are checked against these (test/mime/transfer.test.ts)
 * and must give identical results for every input: the behaviour here is the specification.
 */

const EQUALS = 0x3d;

export function decodeBase64(data: Buffer): Buffer {
  const blocks = data
    .toString('latin1')
    .replace(/[^A-Za-z0-9+/=]/g, '')
    .split(/=+/);
  return Buffer.concat(blocks.filter((b) => b.length > 0).map((b) => Buffer.from(b, 'base64')));
}

export function base64Ambiguity(data: Buffer): string | undefined {
  let inGroup = 0;
  let padded = false;
  for (let i = 0; i < data.length; i++) {
    const byte = data[i]!;
    if (byte === EQUALS) {
      if (inGroup === 1) return 'a group of one character before "=" (6 bits, no byte)';
      padded = true;
      inGroup = 0;
      continue;
    }
    if (!isBase64Letter(byte)) continue;
    if (padded) return 'data after "=" padding (some readers stop there)';
    inGroup = (inGroup + 1) % 4;
  }
  return inGroup === 1 ? 'a last group of one character (6 bits, no byte)' : undefined;
}

function isBase64Letter(byte: number): boolean {
  return (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x2b || byte === 0x2f;
}
