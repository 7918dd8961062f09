// The judge with its memory: verdicts now, and earlier events turned into machines by later evidence.
import { describe, expect, it } from 'vitest';
import { createMachineJudge } from '../../src/redirector/machine-flags.js';
import type { RedirectEvent } from '../../src/redirector/types.js';
import { recipientKey, type JudgeInput } from '../../src/truth/judge.js';

const T = 1_700_000_000_000;
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const KEY = recipientKey('s1', 'ann@example.net', '', '', '');

function input(at: number, position: number, over: Partial<JudgeInput> = {}): JudgeInput {
  return {
    kind: 'click',
    method: 'GET',
    userAgent: FIREFOX,
    ip: '198.51.100.4',
    deliveredAt: T - 3_600_000,
    now: T + at,
    recipientKey: KEY,
    position,
    part: 'h',
    honeypot: position === 0,
    ...over,
  };
}

function eventFor(i: JudgeInput, n: number, machineReason: string | undefined): RedirectEvent {
  return {
    id: Buffer.from([n]),
    time: new Date(i.now),
    type: i.kind,
    sendId: 's1',
    listId: '',
    recipient: 'ann@example.net',
    emailCode: '',
    url: 'https://shop.example/',
    linkName: '',
    position: i.position,
    part: i.part,
    ip: i.ip,
    userAgent: i.userAgent,
    machine: machineReason !== undefined,
    ...(machineReason ? { machineReason } : {}),
  };
}

function harness(options: Parameters<typeof createMachineJudge>[0] = {}) {
  const followUps: RedirectEvent[] = [];
  const amended: RedirectEvent[] = [];
  const judge = createMachineJudge(options, (changed, more) => {
    followUps.push(...changed);
    amended.push(...more);
  });
  let n = 0;
  const hit = (i: JudgeInput): string | undefined => {
    const judged = judge.judge(i);
    judged.remember(eventFor(i, ++n, judged.machineReason));
    return judged.machineReason;
  };
  return { judge, hit, followUps, amended };
}

describe('MachineJudge', () => {
  it('reclassifies the first click when a burst arrives after it', () => {
    const { judge, hit, followUps } = harness();
    const scanner = { ip: '203.0.113.50' };
    expect(hit(input(0, 1, scanner))).toBeUndefined(); // alone it looks like a person
    expect(hit(input(150, 2, scanner))).toBe('burst');
    expect(hit(input(300, 3, scanner))).toBe('burst');
    expect(followUps).toEqual([]); // found off the response path, on a later turn
    judge.flush();
    expect(followUps.map((e) => [e.id[0], e.machine, e.machineReason])).toEqual([[1, true, 'burst']]);
    judge.flush();
    expect(followUps).toHaveLength(1); // once
  });

  it('reclassifies earlier clicks when the honeypot is hit, and flags what follows it', async () => {
    const { hit, followUps, amended } = harness();
    expect(hit(input(0, 1, { ip: '203.0.113.50' }))).toBeUndefined();
    expect(hit(input(3_000, 2, { ip: '203.0.113.51' }))).toBeUndefined();
    expect(hit(input(7_000, 0, { ip: '203.0.113.52' }))).toBe('honeypot');
    expect(hit(input(9_000, 3, { ip: '203.0.113.53' }))).toBe('honeypot');
    await new Promise((r) => setImmediate(r));
    expect(followUps.map((e) => [e.id[0], e.machineReason])).toEqual([
      [1, 'honeypot'],
      [2, 'honeypot'],
    ]);
    expect(amended).toEqual([]); // the others were machines for the same reason already
  });

  it('writes context reasons in one order, whatever order the evidence came in', () => {
    const { judge, hit, amended } = harness();
    expect(hit(input(0, 0, { ip: '203.0.113.9' }))).toBe('honeypot');
    expect(hit(input(100, 1, { ip: '203.0.113.9' }))).toBe('honeypot');
    expect(hit(input(200, 2, { ip: '203.0.113.9' }))).toBe('honeypot,burst');
    judge.flush();
    // the two flagged first gain the burst, for the store only (no follow-up: they were machines)
    expect(amended.map((e) => e.machineReason)).toEqual(['honeypot,burst', 'honeypot,burst']);
  });

  it('keeps the person after a Safe Links check and turns the check into a machine', () => {
    const { judge, hit, followUps } = harness();
    expect(hit(input(0, 4, { ip: '52.160.1.9' }))).toBeUndefined();
    expect(hit(input(800, 4, { ip: '198.51.100.4' }))).toBeUndefined();
    judge.flush();
    expect(followUps.map((e) => [e.id[0], e.machineReason])).toEqual([[1, 'time-of-click']]);
  });

  it('tells a scanner and a person on one network apart by user agent, however many agents it shows', () => {
    const { hit } = harness();
    const scanner = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
    expect(hit(input(0, 0, { ip: '203.0.113.9', userAgent: scanner }))).toBe('honeypot');
    // Behind the same NAT (one /24), within the honeypot's window: the person's own browser.
    expect(hit(input(5_000, 1, { ip: '203.0.113.10' }))).toBeUndefined();
    // Many more agents on that network (other recipients), more than the judge keeps per network.
    const bob = recipientKey('s1', 'bob@example.net', '', '', '');
    for (let n = 0; n < 40; n++) hit(input(6_000 + n, 1, { ip: '203.0.113.11', userAgent: `agent ${n}`, recipientKey: bob }));
    // The scanner's agent again: the same client as the honeypot hit.
    expect(hit(input(8_000, 2, { ip: '203.0.113.12', userAgent: scanner }))).toBe('honeypot');
  });

  it('keeps recipients apart', () => {
    const { judge, hit, followUps } = harness();
    hit(input(0, 1));
    hit(input(100, 2, { recipientKey: recipientKey('s1', 'bob@example.net', '', '', '') }));
    judge.flush();
    expect(followUps).toEqual([]);
  });

  it('counts a click before any open, soon after delivery, as two weak reasons (when early_seconds is on)', () => {
    expect(harness().hit(input(0, 1, { deliveredAt: T - 20_000 }))).toBeUndefined(); // off by default
    const { hit } = harness({ earlySeconds: 60 });
    expect(hit(input(0, 1, { deliveredAt: T - 20_000 }))).toBe('early,no-open');
    const other = harness({ earlySeconds: 60 });
    expect(other.hit(input(0, 0, { kind: 'open', part: '', honeypot: false, deliveredAt: T - 20_000 }))).toBeUndefined();
    expect(other.hit(input(5_000, 1, { deliveredAt: T - 20_000 }))).toBeUndefined();
  });

  it('keeps at most eventsPerRecipient events of a recipient', () => {
    const followUps: RedirectEvent[] = [];
    const judge = createMachineJudge({ eventsPerRecipient: 4 }, (e) => followUps.push(...e));
    for (let i = 0; i < 10; i++) {
      const at = input(i * 10_000, 1);
      judge.judge(at).remember(eventFor(at, i, undefined));
    }
    expect(judge.historyOverflows).toBe(6);
  });
});
