/**
 * Link signing keys. Each key has a one-byte key id (kid) that every token carries, so a new key can be
 * made current while links minted under older keys keep verifying.
 *
 * On disk: `<dataDir>/keys/kid-<n>.key` (n = 0..255, base64 of 32 random bytes, mode 0600, directory
 * 0700) and `<dataDir>/keys/current` naming the kid new links are signed with. The pointer file exists
 * because ids wrap around after 255 rotations, so "highest id" is not always "newest".
 */
import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { chmod, link, mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CodedError } from '../util/errors.js';
import { TokensErrorCode } from './errors.js';

const SECRET_BYTES = 32;
export const MAX_KID = 255;

const KEY_FILE = /^kid-(0|[1-9][0-9]{0,2})\.key$/;
const CURRENT_FILE = 'current';

export interface SigningKey {
  readonly kid: number;
  /** Authenticates tokens and the info header. */
  readonly tokenKey: KeyObject;
  /** Makes URL row ids: a separate key so an id can never double as a MAC, nor the reverse. */
  readonly rowIdKey: KeyObject;
}

export interface Keyring {
  /** The key new links are signed with. */
  readonly current: SigningKey;
  get(kid: number): SigningKey | undefined;
  /** Every key id held, ascending. */
  readonly kids: readonly number[];
}

function derive(secret: Buffer, purpose: string): KeyObject {
  return createSecretKey(createHmac('sha256', secret).update(`trackmilter ${purpose}`).digest());
}

export function signingKey(kid: number, secret: Buffer): SigningKey {
  if (!Number.isInteger(kid) || kid < 0 || kid > MAX_KID) throw new RangeError(`key id must be 0..${MAX_KID}: ${kid}`);
  if (secret.length !== SECRET_BYTES) throw new RangeError(`a signing secret is ${SECRET_BYTES} bytes`);
  return { kid, tokenKey: derive(secret, 'token mac v1'), rowIdKey: derive(secret, 'url row id v1') };
}

/** A keyring from keys already in memory (tests, benchmarks); no I/O. */
export function createKeyring(keys: readonly SigningKey[], currentKid: number): Keyring {
  const byKid = new Map<number, SigningKey>();
  for (const key of keys) {
    if (byKid.has(key.kid)) throw new RangeError(`duplicate key id ${key.kid}`);
    byKid.set(key.kid, key);
  }
  const current = byKid.get(currentKid);
  if (!current) throw new RangeError(`current key id ${currentKid} is not in the keyring`);
  const kids = [...byKid.keys()].sort((a, b) => a - b);
  return { current, kids, get: (kid) => byKid.get(kid) };
}

export function keysDir(dataDir: string): string {
  return join(dataDir, 'keys');
}

export function keyFilePath(dataDir: string, kid: number): string {
  return join(keysDir(dataDir), `kid-${kid}.key`);
}

interface KeyFiles {
  secrets: Map<number, Buffer>;
  currentKid: number | null;
}

async function readKeyFile(path: string): Promise<Buffer> {
  const info = await stat(path);
  if (!info.isFile()) throw new CodedError(TokensErrorCode.KEY_INVALID, `${path} is not a regular file`);
  if ((info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(3, '0');
    throw new CodedError(TokensErrorCode.KEY_MODE, `${path} is readable or writable by others (mode ${mode}); chmod 600 it`);
  }
  const text = (await readFile(path, 'utf8')).trim();
  const secret = Buffer.from(text, 'base64');
  if (secret.length !== SECRET_BYTES || secret.toString('base64') !== text) {
    throw new CodedError(TokensErrorCode.KEY_INVALID, `${path} does not hold a ${SECRET_BYTES}-byte base64 key`);
  }
  return secret;
}

async function readCurrentKid(dir: string): Promise<number | null> {
  let text: string;
  try {
    text = (await readFile(join(dir, CURRENT_FILE), 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const kid = /^[0-9]{1,3}$/.test(text) ? Number(text) : NaN;
  if (!(kid <= MAX_KID)) throw new CodedError(TokensErrorCode.KEY_CURRENT, `${join(dir, CURRENT_FILE)} does not name a key id: ${JSON.stringify(text)}`);
  return kid;
}

async function readKeyFiles(dataDir: string): Promise<KeyFiles> {
  const dir = keysDir(dataDir);
  // The pointer before the listing: a key file always exists before the pointer names it, so a keygen
  // running meanwhile cannot leave us with a pointer to a key we did not list.
  const currentKid = await readCurrentKid(dir);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { secrets: new Map(), currentKid };
    throw err;
  }
  const secrets = new Map<number, Buffer>();
  for (const name of names) {
    const match = KEY_FILE.exec(name);
    if (!match) continue; // temporary files of an interrupted keygen, the legacy link.key, the pointer
    const kid = Number(match[1]);
    if (kid > MAX_KID) continue;
    secrets.set(kid, await readKeyFile(join(dir, name)));
  }
  return { secrets, currentKid };
}

function toKeyring(dataDir: string, files: KeyFiles): Keyring {
  const kids = [...files.secrets.keys()];
  // Without a pointer (never written, or lost) the highest id is the best guess: ids only wrap after
  // 256 rotations.
  const currentKid = files.currentKid ?? Math.max(...kids);
  if (!files.secrets.has(currentKid)) {
    throw new CodedError(TokensErrorCode.KEY_CURRENT, `${join(keysDir(dataDir), CURRENT_FILE)} names key ${currentKid}, which has no key file`);
  }
  const keys = kids.map((kid) => signingKey(kid, files.secrets.get(kid) as Buffer));
  return createKeyring(keys, currentKid);
}

async function ensureKeysDir(dataDir: string): Promise<string> {
  const dir = keysDir(dataDir);
  const created = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) await chmod(dir, 0o700); // mkdir's mode is filtered by the umask
  return dir;
}

/** Atomically writes `text` to `path` (mode 0600); false when `path` already exists. */
async function writeNewFile(path: string, text: string): Promise<boolean> {
  const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(temp, text, { mode: 0o600, flag: 'wx' });
  try {
    await chmod(temp, 0o600);
    // link() refuses to replace an existing name, so two keygens racing never overwrite a key, and a
    // crash never leaves a half-written key under the real name.
    await link(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function writeCurrentKid(dir: string, kid: number): Promise<void> {
  const path = join(dir, CURRENT_FILE);
  const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(temp, `${kid}\n`, { mode: 0o600 });
  await rename(temp, path);
}

function nextKid(taken: ReadonlySet<number>, after: number | null): number | null {
  const start = after === null ? 0 : after + 1;
  for (let i = 0; i <= MAX_KID; i++) {
    const kid = (start + i) % (MAX_KID + 1);
    if (!taken.has(kid)) return kid;
  }
  return null;
}

/**
 * Adds a new key and makes it current; older keys stay and keep verifying links already sent
 * (`trackmilter keygen`). Returns the keyring as it now is.
 */
export async function addKey(dataDir: string): Promise<Keyring> {
  const dir = await ensureKeysDir(dataDir);
  for (;;) {
    const files = await readKeyFiles(dataDir);
    const after = files.currentKid ?? (files.secrets.size > 0 ? Math.max(...files.secrets.keys()) : null);
    const kid = nextKid(new Set(files.secrets.keys()), after);
    if (kid === null) {
      throw new CodedError(TokensErrorCode.KEY_FULL, `${dir} already holds ${MAX_KID + 1} keys; remove the oldest (links signed with it stop working)`);
    }
    const secret = randomBytes(SECRET_BYTES);
    if (!(await writeNewFile(keyFilePath(dataDir, kid), secret.toString('base64') + '\n'))) continue; // lost a race
    await writeCurrentKid(dir, kid);
    return toKeyring(dataDir, await readKeyFiles(dataDir));
  }
}

/** Reads the keyring, creating the first key when there is none; refuses key files others can read. */
export async function loadKeyring(dataDir: string): Promise<Keyring> {
  const files = await readKeyFiles(dataDir);
  if (files.secrets.size === 0) return addKey(dataDir);
  return toKeyring(dataDir, files);
}
