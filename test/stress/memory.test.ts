/**
 * Memory (quick): 10 concurrent sessions each sending a 10 MB message through Postfix into the
 * daemon. The peak RSS and its target are printed, not asserted (RSS on a shared CI machine is no
 * basis for a pass/fail); that every message got through, tracked, is asserted. The full run
 * (50 sessions) prints PASS/FAIL: `npm run stress -- memory`.
 */
import { describe, expect, it } from 'vitest';
import { daemonUnavailableReason } from '../helpers/daemon.js';
import { postfixLabUnavailableReason } from '../helpers/postfix-lab.js';
import { formatTable } from '../../stress/lib/figures.js';
import { runMemoryScenario } from '../../stress/scenarios/memory.js';

const unavailable = postfixLabUnavailableReason() ?? daemonUnavailableReason();
if (unavailable) console.log(`test/stress/memory.test.ts skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('memory under 10 MB messages (quick)', () => {
  it('10 sessions x 10 MB: all accepted, delivered and tracked; peak RSS printed against its target', async () => {
    const { figures, accepted, delivered, outcomes } = await runMemoryScenario({ sessions: 10, messageMB: 10 });
    console.log(formatTable('memory (quick)', figures));
    expect(accepted).toBe(10);
    expect(delivered).toBe(10);
    expect(outcomes).toEqual({ modified: 10 });
  }, 120_000);
});
