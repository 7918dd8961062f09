/**
 * Mixed (quick): 6 s of ~10 MB HTML messages, newsletters and clicks through Postfix into one
 * daemon. Click latency and throughput are printed, not asserted (a shared CI machine is no basis
 * for a pass/fail on speed); that every click is redirected to its destination and every message
 * got through, tracked, is asserted. The full run: `npm run stress -- mixed`.
 */
import { describe, expect, it } from 'vitest';
import { daemonUnavailableReason } from '../helpers/daemon.js';
import { postfixLabUnavailableReason } from '../helpers/postfix-lab.js';
import { formatTable } from '../../stress/lib/figures.js';
import { runMixedScenario } from '../../stress/scenarios/mixed.js';

const unavailable = postfixLabUnavailableReason() ?? daemonUnavailableReason();
if (unavailable) console.log(`test/stress/mixed.test.ts skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('clicks while big messages and newsletters flow (quick)', () => {
  it('every click redirected, every message taken and modified', async () => {
    const { figures, clicks, badClicks, accepted, refused, outcomes } = await runMixedScenario({ seconds: 6, newsletterSenders: 2, clickers: 4 });
    console.log(formatTable('mixed (quick)', figures));
    expect(clicks).toBeGreaterThan(0);
    expect(badClicks).toBe(0);
    expect(refused).toBe(0);
    expect(accepted.big).toBeGreaterThan(0);
    expect(accepted.newsletters).toBeGreaterThan(0);
    expect(Object.keys(outcomes)).toEqual(['modified']);
  }, 120_000);
});
