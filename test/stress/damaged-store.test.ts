/**
 * A damaged or deleted LevelDB directory at start: damage stops `serve` with ESTORE_CORRUPT naming
 * the directory; a deleted db directory is a new install and starts empty.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { daemonUnavailableReason } from '../helpers/daemon.js';
import { formatTable } from '../../stress/lib/figures.js';
import { runDamagedStoreScenario, type DamagedStoreResult } from '../../stress/scenarios/damaged-store.js';

const unavailable = daemonUnavailableReason();

describe.skipIf(unavailable !== undefined)('damaged or deleted store at start', () => {
  let result: DamagedStoreResult;
  beforeAll(async () => {
    result = await runDamagedStoreScenario();
    console.log(formatTable('damaged store at start', result.figures));
  }, 90_000);

  function expectRefusal(name: string): void {
    const found = result.cases.find((c) => c.name === name)!;
    expect(found.attempt.outcome, found.attempt.output.slice(-2000)).toBe('exited');
    expect(found.attempt.code).not.toBe(0);
    expect(found.namesCodeAndDir, `ESTORE_CORRUPT and the db directory in:\n${found.attempt.output.slice(-2000)}`).toBe(true);
  }

  it('garbage in CURRENT (no final newline): exits non-zero, ESTORE_CORRUPT, directory named', () => expectRefusal('garbage in CURRENT (no newline)'));
  it('CURRENT deleted beside the other files: exits non-zero, ESTORE_CORRUPT, directory named', () => expectRefusal('CURRENT deleted'));
  it('a bad record in the write-ahead log: exits non-zero, ESTORE_CORRUPT, directory named', () => expectRefusal('bad record in the .log'));

  // Found here: LevelDB reports the manifest such a CURRENT names as missing (an I/O error); the store's
  // own check before opening now calls it what it is, damage.
  it('garbage in CURRENT ending in a newline: exits non-zero, ESTORE_CORRUPT, directory named', () => expectRefusal('garbage in CURRENT (ends in newline)'));

  it('db directory deleted: a new install, starts with an empty store (the old link is a 404, never a redirect)', () => {
    const deleted = result.cases.find((c) => c.expect === 'start')!;
    expect(deleted.attempt.outcome, deleted.attempt.output.slice(-2000)).toBe('ready');
    expect(result.oldLinkAfterFreshStart).toBe(404);
  });
});
