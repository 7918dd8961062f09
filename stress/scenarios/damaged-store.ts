/**
 * A damaged or deleted LevelDB directory at start. Damage (garbage in CURRENT, a bad record in the
 * write-ahead log, CURRENT deleted beside the other files) must stop `serve` with a non-zero exit
 * and an ESTORE_CORRUPT error naming the directory, never let it start on an empty store. A deleted
 * `db` directory is a new install: serve starts with an empty store (the signing keys beside it are
 * kept, so earlier stateful links verify but no longer resolve).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TrackmilterDaemon } from '../../test/helpers/daemon.js';
import { sendThroughMilter } from '../../test/app/helpers/traffic.js';
import { buildNewsletter, readRewritten, pairClicks } from '../../test/app/helpers/newsletter.js';
import { click } from '../lib/events.js';
import type { Figures } from '../lib/figures.js';
import { attemptServe, type ServeAttempt } from '../lib/serve-once.js';

export interface DamageCase {
  name: string;
  /** What the case must do: refuse with ESTORE_CORRUPT, or start fresh. */
  expect: 'refuse' | 'start';
  attempt: ServeAttempt;
  /** For a refusal: exit code non-zero, ESTORE_CORRUPT and the db directory named in the output. */
  namesCodeAndDir: boolean;
}

export interface DamagedStoreResult {
  figures: Figures;
  cases: DamageCase[];
  /** After the db directory was deleted: the old link's status (404: the fresh store does not know it). */
  oldLinkAfterFreshStart: number;
}

const DAMAGES: Array<{ name: string; expect: 'refuse' | 'start'; damage: (db: string) => Promise<void> }> = [
  // LevelDB itself calls a CURRENT without its final newline corruption...
  { name: 'garbage in CURRENT (no newline)', expect: 'refuse', damage: (db) => fs.writeFile(path.join(db, 'CURRENT'), '\u0000\u00ff garbage') },
  // ...but a CURRENT naming a manifest that is not there an I/O error ("No such file").
  { name: 'garbage in CURRENT (ends in newline)', expect: 'refuse', damage: (db) => fs.writeFile(path.join(db, 'CURRENT'), 'MANIFEST-\u0000\u00ff garbage\n') },
  { name: 'CURRENT deleted', expect: 'refuse', damage: (db) => fs.rm(path.join(db, 'CURRENT')) },
  { name: 'bad record in the .log', expect: 'refuse', damage: damageNewestLog },
  { name: 'db directory deleted', expect: 'start', damage: (db) => fs.rm(db, { recursive: true }) },
];

/** Overwrites bytes inside the first record of the newest write-ahead log (its CRC no longer matches). */
async function damageNewestLog(db: string): Promise<void> {
  const logs = (await fs.readdir(db)).filter((name) => /^\d+\.log$/.test(name)).sort();
  const newest = logs.at(-1);
  if (!newest) throw new Error(`no write-ahead log in ${db}: ${(await fs.readdir(db)).join(', ')}`);
  const file = path.join(db, newest);
  const size = (await fs.stat(file)).size;
  if (size < 40) throw new Error(`${file} holds no record to damage (${size} bytes)`);
  const handle = await fs.open(file, 'r+');
  await handle.write(Buffer.from('garbage!garbage!'), 0, 16, 12);
  await handle.close();
}

export async function runDamagedStoreScenario(): Promise<DamagedStoreResult> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'trackmilter-damaged-'));
  try {
    // A store with something in it: one message tracked, one click recorded; stopped with SIGKILL so
    // that the write-ahead log still holds the records (a clean stop may not compact them either).
    const pristine = path.join(root, 'pristine');
    await fs.mkdir(pristine);
    const daemon = await TrackmilterDaemon.start({ dataDir: pristine });
    let oldLink: string;
    try {
      const milterPort = Number(/:(\d+)$/.exec(daemon.milterSocket)![1]);
      const newsletter = buildNewsletter();
      const result = await sendThroughMilter(milterPort, newsletter);
      const base = `http://127.0.0.1:${daemon.httpPort}`;
      oldLink = pairClicks(readRewritten(result.body!, base), newsletter.spec)[0]!.link;
      if ((await click(oldLink)).status !== 302) throw new Error(`the fresh daemon did not redirect ${oldLink}`);
    } finally {
      await daemon.kill();
    }

    const cases: DamageCase[] = [];
    let oldLinkAfterFreshStart = 0;
    for (const { name, expect, damage } of DAMAGES) {
      const dataDir = path.join(root, name.replace(/\W+/g, '-'));
      await fs.cp(pristine, dataDir, { recursive: true });
      const db = path.join(dataDir, 'db');
      await damage(db);
      const attempt = await attemptServe(dataDir);
      const namesCodeAndDir = attempt.outcome === 'exited' && attempt.code !== 0 && attempt.output.includes('ESTORE_CORRUPT') && attempt.output.includes(db);
      cases.push({ name, expect, attempt, namesCodeAndDir });
      if (expect === 'start' && attempt.outcome === 'ready') oldLinkAfterFreshStart = await statusOfOldLink(dataDir, oldLink);
    }
    const figures: Figures = Object.fromEntries(
      cases.map((c) => [
        c.name,
        `${c.attempt.outcome}${c.attempt.code !== null ? ` (exit ${c.attempt.code})` : ''}${c.expect === 'refuse' ? `, ESTORE_CORRUPT + dir named: ${c.namesCodeAndDir}` : ''}`,
      ]),
    );
    for (const c of cases) if (c.expect === 'refuse') figures[`${c.name}: error`] = errorLine(c.attempt.output);
    figures['old link after the fresh start'] = oldLinkAfterFreshStart;
    return { figures, cases, oldLinkAfterFreshStart };
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

/** The line of serve's output that says why it stopped. */
function errorLine(output: string): string {
  return (
    output
      .split('\n')
      .find((line) => /ESTORE_|error/i.test(line))
      ?.slice(0, 300) ?? '(none)'
  );
}

/** Starts a daemon on the data dir again on the old link's port and asks it for the old link. */
async function statusOfOldLink(dataDir: string, oldLink: string): Promise<number> {
  const daemon = await TrackmilterDaemon.start({ dataDir });
  try {
    const url = new URL(oldLink);
    url.host = `127.0.0.1:${daemon.httpPort}`;
    return (await click(url.toString())).status;
  } finally {
    await daemon.stop();
  }
}
