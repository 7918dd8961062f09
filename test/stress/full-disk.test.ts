/**
 * The data directory on a full filesystem (CI and full run alike: it is quick). Skipped with a
 * message where a tmpfs cannot be mounted (not root, no CAP_SYS_ADMIN).
 */
import { describe, expect, it } from 'vitest';
import { daemonUnavailableReason } from '../helpers/daemon.js';
import { postfixLabUnavailableReason } from '../helpers/postfix-lab.js';
import { formatTable } from '../../stress/lib/figures.js';
import { runFullDiskScenario } from '../../stress/scenarios/full-disk.js';

const unavailable = postfixLabUnavailableReason() ?? daemonUnavailableReason();
if (unavailable) console.log(`test/stress/full-disk.test.ts skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('data directory on a full filesystem', () => {
  it('mail passes unchanged while full, earlier links still redirect, tracking resumes once freed, no acknowledged event lost', async (context) => {
    const result = await runFullDiskScenario({ perPhase: 20 });
    if ('skipped' in result) {
      console.log(`test/stress/full-disk.test.ts: ${result.skipped}`);
      context.skip();
      return;
    }
    console.log(formatTable('full disk', result.figures));
    expect(result.before.tracked).toBe(20);
    expect(result.acknowledgedBefore).toBe(20);
    // full: every message taken, delivered once, unchanged; the daemon says why it did not track
    expect(result.during.accepted).toBe(20);
    expect(result.during.lost).toEqual([]);
    expect(result.during.duplicated).toEqual([]);
    expect(result.during.delivered).toBe(20);
    // Every copy is intact, tracked or not (problems would list any difference). A few may still be
    // tracked: the LevelDB log's last tmpfs page takes writes until it is full.
    expect(result.during.problems).toEqual([]);
    expect(result.during.untracked).toBeGreaterThanOrEqual(10);
    expect(result.failedCodes).toHaveLength(result.during.untracked);
    for (const code of result.failedCodes) expect(code).toMatch(/^ESTORE_/);
    expect(result.clicksWhileFull.filter((c) => c.status !== 302 || c.location !== c.expected)).toEqual([]);
    // freed: tracking and event recording resume, and nothing acknowledged before the fill is gone
    expect(result.trackingResumedAfterMs).toBeDefined();
    expect(result.after.tracked).toBe(20);
    expect(result.recordedAfterFree).toBe(result.clicksAfterFree);
    expect(result.lostEvents).toEqual([]);
  }, 90_000);
});
