// The link signing key: generated on first start and kept beside the data, readable by us only.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CodedError } from '../util/errors.js';

export const KEY_BYTES = 32;

export function keyPath(dataDir: string): string {
  return join(dataDir, 'keys', 'link.key');
}

/** Reads the key, creating it (mode 0600) when there is none; refuses a key others can read. */
export async function loadOrCreateKey(dataDir: string): Promise<Buffer> {
  const path = keyPath(dataDir);
  const existing = await stat(path).catch(() => null);
  if (!existing) {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const key = randomBytes(KEY_BYTES);
    await writeFile(path, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600);
    return key;
  }
  if ((existing.mode & 0o077) !== 0) {
    throw new CodedError('EKEY_MODE', `${path} is readable by others (mode ${(existing.mode & 0o777).toString(8)}); chmod 600 it`);
  }
  const key = Buffer.from((await readFile(path, 'utf8')).trim(), 'base64');
  if (key.length < 16) throw new CodedError('EKEY_INVALID', `${path} does not hold a valid key`);
  return key;
}
