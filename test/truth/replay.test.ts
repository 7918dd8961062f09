// bench:truth's labelled traffic through the judge on replay time (bench/truth-judge.ts): no clock, no
// network, so a seed gives one set of verdicts, every time.
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { replayThroughJudge } from '../../bench/truth-judge.js';
import { planTraffic } from '../../bench/truth-traffic.js';
import { loadRangeDir, SHIPPED_RANGES_DIR, type RangeList } from '../../src/truth/address-ranges.js';

const digest = (verdicts: Array<string | undefined>): string =>
  createHash('sha256')
    .update(JSON.stringify(verdicts.map((v) => v ?? '')))
    .digest('hex')
    .slice(0, 16);

describe('the labelled replay through the judge', () => {
  let ranges: RangeList[];
  beforeAll(async () => {
    ranges = await loadRangeDir(SHIPPED_RANGES_DIR);
  });

  it('gives the same verdicts and follow-ups for the same seed, and others for another', () => {
    const plan = planTraffic({ seed: 3, recipients: 300, capMs: 360_000 });
    const first = replayThroughJudge(plan, { ranges });
    const again = replayThroughJudge(planTraffic({ seed: 3, recipients: 300, capMs: 360_000 }), { ranges });
    expect(again.verdicts).toEqual(first.verdicts);
    expect(again.followUps).toEqual(first.followUps);
    const other = replayThroughJudge(planTraffic({ seed: 4, recipients: 300, capMs: 360_000 }), { ranges });
    expect(digest(other.verdicts)).not.toBe(digest(first.verdicts));
  });

  it('gives the verdicts the judge gave before its rules were made linear (seed 7, 400 recipients)', () => {
    // Taken from the quadratic rules (test/truth/context-rules-reference.ts) in the judge as it was.
    // A change of the rules that means to change verdicts updates these, with bench:truth's figures.
    const plan = planTraffic({ seed: 7, recipients: 400, capMs: 360_000 });
    const r = replayThroughJudge(plan, { ranges });
    const machine = plan.requests.map((q) => q.machine);
    const flagged = r.verdicts.map((v) => v !== undefined);
    expect({
      requests: plan.requests.length,
      followUps: r.followUps.length,
      machines: machine.filter(Boolean).length,
      machinesFlagged: flagged.filter((f, i) => f && machine[i]).length,
      peopleFlagged: flagged.filter((f, i) => f && !machine[i]).length,
      digest: digest(r.verdicts),
    }).toEqual({ requests: 1227, followUps: 76, machines: 1039, machinesFlagged: 1028, peopleFlagged: 0, digest: '7b82162444fc04d2' });
  });
});
