// The LevelDB layer under the store and the event outbox: one lifecycle, the damage preflight, and
// LevelDB's errors named in the owner's codes.
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LevelDatabase, type LevelErrors } from '../../src/level/database.js';
import { CodedError } from '../../src/util/errors.js';

const ERRORS: LevelErrors = {
  locked: (cause) => new CodedError('T_LOCKED', 'locked', { cause }),
  corrupt: (detail, cause) => new CodedError('T_CORRUPT', `corrupt: ${detail}`, { cause }),
  closed: (cause) => new CodedError('T_CLOSED', 'closed', { cause }),
  invalid: (cause) => new CodedError('T_INVALID', 'invalid', { cause }),
  io: (doing, detail, cause) => new CodedError('T_IO', `cannot ${doing}: ${detail}`, { cause }),
};

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A database whose groups are lists of keys, each written with its own name as the value. */
async function database(dir?: string): Promise<{ db: LevelDatabase<string[]>; dir: string; groups: string[][][] }> {
  const where = dir ?? (await mkdtemp(path.join(tmpdir(), 'tm-level-')));
  if (!dir) dirs.push(where);
  const groups: string[][][] = [];
  const db: LevelDatabase<string[]> = new LevelDatabase<string[]>(where, {
    errors: ERRORS,
    writeGroup: async (items) => {
      groups.push(items);
      await db.writeBatch(items.flat().map((k) => ({ type: 'put', key: Buffer.from(k), value: Buffer.from(k) })));
    },
  });
  return { db, dir: where, groups };
}

describe('LevelDatabase', () => {
  it('writes the items submitted in one turn as one group, and close() writes what was submitted before it', async () => {
    const { db, dir, groups } = await database();
    await db.open();
    await Promise.all([db.submit(['a']), db.submit(['b', 'c'])]);
    expect(groups).toEqual([[['a'], ['b', 'c']]]);
    const late = db.submit(['d']);
    await db.close();
    await late;
    await expect(db.submit(['e'])).rejects.toMatchObject({ code: 'T_CLOSED' });
    const again = await database(dir);
    await again.db.open();
    expect((await again.db.read((level) => level.keys().all())).map(String)).toEqual(['a', 'b', 'c', 'd']);
    await again.db.close();
  });

  it("opens once, and refuses reads when not open in the owner's code", async () => {
    const { db } = await database();
    await expect(db.read((level) => level.get(Buffer.from('a')))).rejects.toMatchObject({ code: 'T_CLOSED' });
    await db.open();
    await expect(db.open()).rejects.toMatchObject({ code: 'T_IO', message: 'cannot open: it can be opened only once' });
    await db.close();
    await expect(db.read((level) => level.get(Buffer.from('a')))).rejects.toMatchObject({ code: 'T_CLOSED' });
  });

  it('names a directory another process (or instance) holds as locked', async () => {
    const first = await database();
    await first.db.open();
    const second = await database(first.dir);
    await expect(second.db.open()).rejects.toMatchObject({ code: 'T_LOCKED' });
    await first.db.close();
  });

  it('refuses a damaged directory before LevelDB opens it, and runs prepare or closes again', async () => {
    const { db, dir } = await database();
    await db.open();
    await db.submit(['a']);
    await db.close();
    const failing = await database(dir);
    await expect(failing.db.open(() => Promise.reject(new Error('layout check failed')))).rejects.toMatchObject({ code: 'T_IO' });
    const reopened = await database(dir); // the failed prepare closed the directory again
    await reopened.db.open();
    await reopened.db.close();
    await unlink(path.join(dir, 'CURRENT'));
    const damaged = await database(dir);
    await expect(damaged.db.open()).rejects.toMatchObject({ code: 'T_CORRUPT', message: expect.stringMatching(/CURRENT/) });
  });

  it("passes the owner's own errors through and calls a RangeError invalid", async () => {
    const { db } = await database();
    const own = new CodedError('T_OWN', 'own');
    expect(db.translate(own, 'read')).toBe(own);
    expect(db.translate(new RangeError('bad id'), 'read').code).toBe('T_INVALID');
    expect(db.translate(new Error('disk'), 'write')).toMatchObject({ code: 'T_IO', message: 'cannot write: disk' });
  });
});
