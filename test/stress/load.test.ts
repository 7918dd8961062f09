/**
 * Quick load (CI): 500 messages through a private Postfix over 50 sessions into the real daemon.
 * The full run (10,000 messages) is `npm run stress -- load`.
 */
import { describe, expect, it } from 'vitest';
import { daemonUnavailableReason } from '../helpers/daemon.js';
import { postfixLabUnavailableReason } from '../helpers/postfix-lab.js';
import { formatTable } from '../../stress/lib/figures.js';
import { runLoadScenario } from '../../stress/scenarios/load.js';

const unavailable = postfixLabUnavailableReason() ?? daemonUnavailableReason();
if (unavailable) console.log(`test/stress/load.test.ts skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('load through Postfix (quick)', () => {
  it('500 messages over 50 sessions: none deferred by the milter, all delivered once, every 10th rewritten correctly', async () => {
    const { figures, account, trouble } = await runLoadScenario({ count: 500 });
    console.log(formatTable('load (quick)', figures));
    expect(account.refused, JSON.stringify(account.refusedByCode)).toBe(0);
    expect(trouble.milterDeferrals).toBe(0);
    expect(trouble.milterRejects).toBe(0);
    expect(trouble.deferred).toBe(0);
    expect(account.lost).toEqual([]);
    expect(account.duplicated).toEqual([]);
    expect(account.delivered).toBe(500);
    expect(account.untracked).toBe(0);
    expect(account.verified).toBe(50);
    expect(account.problems).toEqual([]);
  }, 120_000);
});
