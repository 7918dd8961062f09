import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contextReasons, DEFAULT_CONTEXT_SETTINGS as S, type ContextSettings, type SeenEvent } from '../../src/truth/context-rules.js';
import { referenceContextReasons } from './context-rules-reference.js';

const T = 1_700_000_000_000;
function click(at: number, position: number, network = '198.51.100.0', over: Partial<SeenEvent> = {}): SeenEvent {
  return { time: T + at, kind: 'click', position, part: 'h', honeypot: false, network, client: `${network}\nua`, requestMachine: false, ...over };
}
function open(at: number, network = '198.51.100.0'): SeenEvent {
  return { time: T + at, kind: 'open', position: 0, part: '', honeypot: false, network, client: `${network}\nua`, requestMachine: false };
}
const honeypot = (at: number, network = '203.0.113.0'): SeenEvent => click(at, 0, network, { honeypot: true });
const strong = (reasons: ReadonlyArray<readonly string[]>): string[][] => reasons.map((r) => r.filter((x) => x !== 'no-open'));

describe('contextReasons', () => {
  it('finds nothing in a person: open, a click, another link a minute later, a double click', () => {
    const events = [open(0), click(40_000, 2), click(40_400, 2), click(100_000, 5)];
    expect(contextReasons(events, S)).toEqual([[], [], [], []]);
  });

  it('flags a sweep of links in link order, its pixel fetch included', () => {
    const events = [open(30_000, '203.0.113.0'), click(30_100, 1, '203.0.113.0'), click(30_250, 2, '203.0.113.0'), click(30_400, 3, '203.0.113.0')];
    expect(strong(contextReasons(events, S))).toEqual([['burst'], ['burst'], ['burst'], ['burst']]);
  });

  it('flags links fetched all at once (the same millisecond, any order, several addresses)', () => {
    const events = [click(0, 3, '203.0.113.0'), click(0, 1, '203.0.114.0'), click(0, 2, '203.0.115.0')];
    expect(strong(contextReasons(events, S))).toEqual([['burst'], ['burst'], ['burst']]);
  });

  it('does not call two links seconds apart a burst', () => {
    expect(strong(contextReasons([click(0, 1), click(S.burstGapMs + 1, 2)], S))).toEqual([[], []]);
  });

  it("flags a honeypot hit and the recipient's events around it from its network, not the person elsewhere", () => {
    const events = [click(0, 1, '203.0.113.0'), honeypot(6_000), click(9_000, 2, '192.0.2.0'), click(12_000, 3, '203.0.113.0'), click(30_000, 3)];
    expect(strong(contextReasons(events, S))).toEqual([['honeypot'], ['honeypot'], [], ['honeypot'], []]);
    // in one run, every event is the scan's, whatever its address
    expect(strong(contextReasons([click(0, 1, '192.0.2.0'), honeypot(500)], S))).toEqual([['honeypot'], ['honeypot']]);
  });

  it("flags the vendor's check before the person's click on the same link, not the person", () => {
    const events = [click(0, 4, '40.107.22.0'), click(900, 4, '198.51.100.0')];
    expect(strong(contextReasons(events, S))).toEqual([['time-of-click'], []]);
    // a double click from one network is a person's
    expect(strong(contextReasons([click(0, 4), click(300, 4)], S))).toEqual([[], []]);
    // beyond the window it is two people or two visits
    expect(strong(contextReasons([click(0, 4, '40.107.22.0'), click(S.pairWindowMs + 1, 4)], S))).toEqual([[], []]);
  });

  it("flags the scanner's pixel fetch from the network of its sweep, not a person elsewhere", () => {
    const events = [open(9_000, '203.0.113.0'), open(20_000, '198.51.100.0'), click(42_000, 1, '203.0.113.0'), click(42_100, 2, '203.0.113.0')];
    expect(strong(contextReasons(events, S))).toEqual([['scan-network'], [], ['burst'], ['burst']]);
    // a colleague behind the same NAT, in a browser of their own, is not the scanner
    const colleague = { ...open(20_000, '203.0.113.0'), client: '203.0.113.0\nanother browser' };
    expect(strong(contextReasons([colleague, click(42_000, 1, '203.0.113.0'), click(42_100, 2, '203.0.113.0')], S))).toEqual([[], ['burst'], ['burst']]);
  });

  it('marks an HTML click with no open before it as weak no-open', () => {
    expect(contextReasons([click(0, 1), open(1000), click(5000, 2)], S)).toEqual([['no-open'], [], []]);
    expect(contextReasons([click(0, 1, '198.51.100.0', { part: 't' })], S)).toEqual([[]]);
  });

  it('gives the reasons of the quadratic reference on seeded random histories', () => {
    // Few networks, user agents, links and times close together, so the windows' edges, shared
    // clients and ties in time all come up; settings drawn too, from zero-width windows to wide ones.
    const event = fc
      .record({
        gap: fc.constantFrom(0, 0, 1, 2, 5, 10, 50, 100, 300),
        kind: fc.constantFrom<'click' | 'open'>('click', 'click', 'open'),
        position: fc.integer({ min: 0, max: 4 }),
        part: fc.constantFrom<'h' | 't' | ''>('h', 'h', 't', ''),
        hit: fc.integer({ min: 0, max: 9 }),
        network: fc.constantFrom('n1', 'n2', 'n3'),
        agent: fc.constantFrom('a', 'b'),
        requestMachine: fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
      })
      .map((r) => ({ ...r, honeypot: r.kind === 'click' && r.hit === 0 }));
    // Gaps and windows from one small set, so that sums of gaps land on a window's edge exactly.
    const windowMs = fc.constantFrom(0, 1, 2, 5, 10, 50, 100, 300, 1000);
    const settings = fc.record<ContextSettings>({
      burstGapMs: windowMs,
      burstMinLinks: fc.integer({ min: 1, max: 4 }),
      honeypotWindowMs: windowMs,
      pairWindowMs: windowMs,
      scanNetworkWindowMs: windowMs,
    });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), settings, (drawn, s) => {
        let time = T;
        const events: SeenEvent[] = drawn.map((d) => {
          time += d.gap;
          const network = d.network;
          return {
            time,
            kind: d.kind,
            position: d.kind === 'open' ? 0 : d.position,
            part: d.kind === 'open' ? '' : d.part,
            honeypot: d.honeypot,
            network,
            client: `${network}\n${d.agent}`,
            requestMachine: d.requestMachine,
          };
        });
        expect(contextReasons(events, s)).toEqual(referenceContextReasons(events, s));
      }),
      { seed: 14, numRuns: 3000 },
    );
  });
});
