// The secret that admin requests (report, events, bounce) carry: a file beside the data, mode 0600, so
// only whoever may read the data directory may query the daemon.
import { randomBytes } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CodedError } from '../util/errors.js';
import { AdminErrorCode } from './errors.js';

function adminTokenPath(dataDir: string): string {
  return path.join(dataDir, 'admin.token');
}

export async function loadOrCreateAdminToken(dataDir: string): Promise<string> {
  const file = adminTokenPath(dataDir);
  try {
    await writeFile(file, randomBytes(24).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
    await chmod(file, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new CodedError(AdminErrorCode.TOKEN, `cannot create ${file}: ${(err as Error).message}`, { cause: err });
  }
  return readAdminToken(dataDir);
}

export async function readAdminToken(dataDir: string): Promise<string> {
  const file = adminTokenPath(dataDir);
  try {
    const info = await stat(file);
    if ((info.mode & 0o077) !== 0) throw new CodedError(AdminErrorCode.TOKEN, `${file} is readable by others; chmod 600 it`);
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if (err instanceof CodedError) throw err;
    throw new CodedError(AdminErrorCode.TOKEN, `cannot read ${file} (is the daemon's data directory right? --data / data.dir): ${(err as Error).message}`, {
      cause: err,
    });
  }
}
