import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addKey, createKeyring, keyFilePath, keysDir, loadKeyring, MAX_KID, signingKey } from '../../src/tokens/keyring.js';
import { decodeToken, mintStatelessClick } from '../../src/tokens/tokens.js';
import { decodeInfoHeader, encodeInfoHeader } from '../../src/tokens/info-header.js';
import { testKey } from './fixtures.js';

let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'trackmilter-keys-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const mode = async (path: string) => (await stat(path)).mode & 0o777;
const click = {
  recipient: 'r@example.com',
  url: 'https://example.com/a?b=c',
  sendId: 'a100525',
  listId: '3',
  emailCode: 'e1',
  position: 2,
  part: 't' as const,
};

describe('keyring files', () => {
  it('creates the first key on first load: key file 0600 in a 0700 directory, and the same key on the next load', async () => {
    const first = await loadKeyring(dataDir);
    expect(first.kids).toEqual([0]);
    expect(first.current.kid).toBe(0);
    expect(await mode(keysDir(dataDir))).toBe(0o700);
    expect(await mode(keyFilePath(dataDir, 0))).toBe(0o600);
    const again = await loadKeyring(dataDir);
    const token = mintStatelessClick(first, click);
    expect(decodeToken(again, token)).toMatchObject({ ok: true, kid: 0, url: click.url });
  });

  it('ignores the umask when creating files', async () => {
    const old = process.umask(0o000);
    try {
      await loadKeyring(dataDir);
    } finally {
      process.umask(old);
    }
    expect(await mode(keyFilePath(dataDir, 0))).toBe(0o600);
    expect(await mode(keysDir(dataDir))).toBe(0o700);
  });

  it('addKey makes a new current key and keeps verifying what older keys signed', async () => {
    const before = await loadKeyring(dataDir);
    const oldToken = mintStatelessClick(before, click);
    const oldHeader = encodeInfoHeader(before, click);
    const rotated = await addKey(dataDir);
    expect(rotated.kids).toEqual([0, 1]);
    expect(rotated.current.kid).toBe(1);
    expect(await mode(keyFilePath(dataDir, 1))).toBe(0o600);

    const reloaded = await loadKeyring(dataDir);
    expect(reloaded.current.kid).toBe(1);
    expect(decodeToken(reloaded, oldToken)).toMatchObject({ ok: true, kid: 0, ...click });
    expect(decodeInfoHeader(reloaded, oldHeader)).toMatchObject({ ok: true, kid: 0, recipient: click.recipient });
    const newToken = mintStatelessClick(reloaded, click);
    expect(decodeToken(reloaded, newToken)).toMatchObject({ ok: true, kid: 1 });
    expect(decodeToken(before, newToken)).toEqual({ ok: false, code: 'unknown-key' });
  });

  it('refuses a key file that group or others can read, with a coded error', async () => {
    await loadKeyring(dataDir);
    await chmod(keyFilePath(dataDir, 0), 0o644);
    await expect(loadKeyring(dataDir)).rejects.toMatchObject({ name: 'CodedError', code: 'EKEY_MODE' });
    await chmod(keyFilePath(dataDir, 0), 0o640);
    await expect(loadKeyring(dataDir)).rejects.toMatchObject({ code: 'EKEY_MODE' });
    await chmod(keyFilePath(dataDir, 0), 0o400);
    await expect(loadKeyring(dataDir)).resolves.toMatchObject({ kids: [0] });
  });

  it('refuses a key file that does not hold a 32-byte key, and a pointer to a missing key', async () => {
    await loadKeyring(dataDir);
    await writeFile(keyFilePath(dataDir, 0), 'c2hvcnQ=\n', { mode: 0o600 });
    await expect(loadKeyring(dataDir)).rejects.toMatchObject({ code: 'EKEY_INVALID' });
    await rm(keyFilePath(dataDir, 0));
    await writeFile(keyFilePath(dataDir, 4), Buffer.alloc(32, 1).toString('base64'), { mode: 0o600 });
    await expect(loadKeyring(dataDir)).rejects.toMatchObject({ code: 'EKEY_CURRENT' });
    await writeFile(join(keysDir(dataDir), 'current'), 'four\n');
    await expect(loadKeyring(dataDir)).rejects.toMatchObject({ code: 'EKEY_CURRENT' });
  });

  it('without the pointer file the highest key id is current; other files in the directory are ignored', async () => {
    await mkdir(keysDir(dataDir), { recursive: true, mode: 0o700 });
    for (const kid of [3, 7]) await writeFile(keyFilePath(dataDir, kid), Buffer.alloc(32, kid).toString('base64') + '\n', { mode: 0o600 });
    await writeFile(join(keysDir(dataDir), 'link.key'), 'legacy', { mode: 0o644 });
    await writeFile(join(keysDir(dataDir), 'kid-01.key'), 'not canonical', { mode: 0o644 });
    const ring = await loadKeyring(dataDir);
    expect(ring.kids).toEqual([3, 7]);
    expect(ring.current.kid).toBe(7);
    expect((await addKey(dataDir)).current.kid).toBe(8);
  });

  it('key ids wrap around after 255 and skip ids still in use', async () => {
    await mkdir(keysDir(dataDir), { recursive: true, mode: 0o700 });
    for (const kid of [0, 1, 254, 255]) await writeFile(keyFilePath(dataDir, kid), Buffer.alloc(32, kid).toString('base64'), { mode: 0o600 });
    await writeFile(join(keysDir(dataDir), 'current'), '255\n');
    const ring = await addKey(dataDir);
    expect(ring.current.kid).toBe(2);
    expect((await loadKeyring(dataDir)).current.kid).toBe(2);
  });

  it('concurrent keygens never overwrite each other and leave no temporary files', async () => {
    await loadKeyring(dataDir);
    const secretsBefore = await readFile(keyFilePath(dataDir, 0), 'utf8');
    await Promise.all([addKey(dataDir), addKey(dataDir), addKey(dataDir)]);
    const ring = await loadKeyring(dataDir);
    expect(ring.kids).toEqual([0, 1, 2, 3]);
    expect(await readFile(keyFilePath(dataDir, 0), 'utf8')).toBe(secretsBefore);
    expect((await readdir(keysDir(dataDir))).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });
});

describe('in-memory keyring', () => {
  it('looks keys up by id and refuses a current id it does not hold or duplicate ids', () => {
    const ring = createKeyring([testKey(5), testKey(2)], 5);
    expect(ring.kids).toEqual([2, 5]);
    expect(ring.get(2)?.kid).toBe(2);
    expect(ring.get(3)).toBeUndefined();
    expect(() => createKeyring([testKey(5)], 6)).toThrow(RangeError);
    expect(() => createKeyring([testKey(5), testKey(5, 'b')], 5)).toThrow(RangeError);
    expect(() => signingKey(MAX_KID + 1, Buffer.alloc(32))).toThrow(RangeError);
    expect(() => signingKey(0, Buffer.alloc(16))).toThrow(RangeError);
  });
});
