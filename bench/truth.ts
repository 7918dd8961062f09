/**
 * bench:truth: how well machine clicks and opens are told from people's, measured on labelled traffic.
 *
 *   npm run bench:truth -- [--seed 1] [--recipients 2000] [--cap-minutes 6] [--explain]
 *   npm run bench:truth -- --judge [--rounds 5]      the judge alone, in this process (see judgeMain)
 *
 * A real `serve` daemon (its own process, LevelDB on disk, the default machine.* settings) gets one
 * newsletter per recipient through its milter, with the honeypot on, then the traffic planned by
 * ./truth-traffic.ts (its header cites where each pattern comes from) over HTTP: each request from its
 * planned address, presented in X-Forwarded-For with the daemon trusting loopback as its proxy
 * (http.trusted_proxies), as a daemon behind nginx sees it.
 *
 * Replay time: recipient i's message counts as delivered at T0 + i s, and each request is sent at
 * its planned time after that, uncompressed, one at a time in the order of those times, carrying its
 * time in `X-Replay-Time`; the daemon runs with ./replay-clock.mjs, which makes that its clock. So
 * every rule window is measured on planned time, not on when a loaded machine got round to a request:
 * the same seed gives the same figures, and they equal the judge's in this process (--judge). Only
 * `early`/`fast-click` (off by default) would see the real delivery time in the token.
 *
 * Afterwards `trackmilter events --format json` gives every event with its final verdict, and the
 * JSONL sink the follow-ups of reclassified ones. Prints, for clicks and opens apart: the share of
 * machine events flagged (recall) and of human events flagged (false positives), overall and per rule,
 * and per kind of actor. Writes bench/out/truth.json.
 */
import http from 'node:http';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MilterClient } from '../src/milter/client.js';
import { loadRangeDir, SHIPPED_RANGES_DIR } from '../src/truth/address-ranges.js';
import { reasonsOf, ruleOf } from '../src/truth/verdict.js';
import { cli, DaemonProcess } from '../test/app/helpers/processes.js';
import { contextReasons, DEFAULT_CONTEXT_SETTINGS, type SeenEvent } from '../src/truth/context-rules.js';
import { referenceContextReasons } from '../test/truth/context-rules-reference.js';
import { contextHistories, replayThroughJudge } from './truth-judge.js';
import { planTraffic, type PlannedRequest, type TrafficPlan } from './truth-traffic.js';

const OUT_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'out', 'truth.json');
const REPLAY_CLOCK = path.join(path.dirname(fileURLToPath(import.meta.url)), 'replay-clock.mjs');
const SEND_ID = 'a9001';

const { values: args } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    recipients: { type: 'string', default: '2000' },
    'cap-minutes': { type: 'string', default: '6' },
    explain: { type: 'boolean', default: false },
    judge: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '5' },
  },
});
const SEED = Number(args.seed);
const RECIPIENTS = Number(args.recipients);
const CAP_MS = Number(args['cap-minutes']) * 60_000;

interface EventJson {
  type: string;
  recipient: string;
  position: number;
  ip: string;
  userAgent: string;
  machine: boolean;
  machineReason?: string;
  reclassified?: boolean;
  id: string;
}

interface Links {
  clicks: Map<number, string>;
  pixel: string;
}

function newsletter(recipient: string, links: number): { headers: Array<{ name: string; value: string }>; body: Buffer } {
  const items = Array.from({ length: links }, (_, i) => `<tr><td><a href="https://shop.example/item/${i + 1}?utm_source=news">Item ${i + 1}</a></td></tr>`);
  const html = `<!doctype html>\r\n<html><head><meta charset="utf-8"><title>News</title></head><body>\r\n<table>\r\n${items.join('\r\n')}\r\n</table>\r\n</body></html>\r\n`;
  return {
    headers: [
      { name: 'From', value: 'News <news@shop.example>' },
      { name: 'To', value: recipient },
      { name: 'Subject', value: 'This week' },
      { name: 'MIME-Version', value: '1.0' },
      { name: 'Content-Type', value: 'text/html; charset=utf-8' },
      { name: 'Content-Transfer-Encoding', value: '7bit' },
      { name: 'X-GreenArrow-MailClass', value: 'a' },
      { name: 'X-GreenArrow-InstanceID', value: '9001' },
      { name: 'X-GreenArrow-ListID', value: 'list1' },
    ],
    body: Buffer.from(html),
  };
}

/** The rewritten message's links by position (the honeypot, aria-hidden, is 0) and its pixel. */
function readLinks(body: string): Links {
  const clicks = new Map<number, string>();
  let position = 0;
  for (const m of body.matchAll(/<a href="([^"]+)"([^>]*)>/g)) {
    if (m[2]!.includes('aria-hidden')) clicks.set(0, m[1]!);
    else clicks.set(++position, m[1]!);
  }
  const pixel = /<img src="([^"]+\/o\/[^"]+)"/.exec(body)?.[1] ?? '';
  return { clicks, pixel };
}

/** Sends every recipient's message through the milter; their links. */
async function deliver(daemon: DaemonProcess, plan: TrafficPlan): Promise<Links[]> {
  const links: Links[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= plan.recipients.length) return;
      const r = plan.recipients[i]!;
      const client = await MilterClient.connect({ kind: 'inet', host: '127.0.0.1', port: daemon.milterPort });
      try {
        await client.negotiate();
        const message = newsletter(r.address, r.links);
        const result = await client.sendMessage({
          connect: { hostname: 'mta.shop.example', family: 'inet', port: 52344, address: '192.0.2.10' },
          helo: 'mta.shop.example',
          from: 'news@shop.example',
          recipients: [r.address],
          headers: message.headers,
          body: message.body,
          macros: { M: { i: `Q${i}` } },
        });
        if (!result.body) throw new Error(`message ${i} not rewritten (verdict ${result.verdict}); ${daemon.diagnostics()}`);
        const found = readLinks(result.body.toString('utf8'));
        if (found.clicks.size !== r.links + 1 || !found.pixel)
          throw new Error(`message ${i}: expected ${r.links} links, the honeypot and a pixel, found ${found.clicks.size} links`);
        links[i] = found;
      } finally {
        await client.quit();
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return links;
}

/**
 * Sends every planned request, one at a time in the order of their replay times (planned order among
 * ties), each with its time in X-Replay-Time; failures (a status other than expected) are collected.
 */
async function replay(plan: TrafficPlan, links: Links[], t0: number): Promise<string[]> {
  // A connection per request: ./replay-clock.mjs sees the header in the socket's first bytes, and a
  // connection the fast front has handed to node:http is read by its native parser, unseen.
  const agent = new http.Agent({ keepAlive: false, maxSockets: 1 });
  const failures: string[] = [];
  const timeOf = (q: PlannedRequest): number => t0 + q.recipient * 1_000 + q.at;
  const order = plan.requests.map((q, n) => ({ q, n })).sort((a, b) => timeOf(a.q) - timeOf(b.q) || a.n - b.n);
  try {
    for (const { q } of order) {
      const target = q.kind === 'click' ? links[q.recipient]!.clicks.get(q.position)! : links[q.recipient]!.pixel;
      const expected = q.method === 'OPTIONS' ? 200 : q.kind === 'click' ? 302 : 200;
      try {
        const status = await send(agent, target, q, timeOf(q));
        if (status !== expected) failures.push(`${q.method} ${target}: ${status}, expected ${expected}`);
      } catch (err) {
        failures.push(`${q.method} ${target}: ${(err as Error).message}`);
      }
    }
  } finally {
    agent.destroy();
  }
  return failures;
}

function send(agent: http.Agent, url: string, q: PlannedRequest, time: number): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: q.method,
        agent,
        headers: { 'User-Agent': q.userAgent, 'X-Forwarded-For': q.ip, 'X-Replay-Time': String(time) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

interface Tally {
  total: number;
  flagged: number;
}
interface Score {
  machine: Tally;
  human: Tally;
  /** Per rule: machine and human events it flagged, and machine events no other rule flagged. */
  rules: Map<string, { machine: number; human: number; alone: number }>;
}

function emptyScore(): Score {
  return { machine: { total: 0, flagged: 0 }, human: { total: 0, flagged: 0 }, rules: new Map() };
}

/** Pairs each event with its planned request (same recipient, kind, link, address, user agent; in order). */
function pairUp(plan: TrafficPlan, events: EventJson[]): Array<{ q: PlannedRequest; e: EventJson }> {
  const keyOf = (recipient: string, kind: string, position: number, ip: string, ua: string): string => JSON.stringify([recipient, kind, position, ip, ua]);
  const planned = new Map<string, PlannedRequest[]>();
  const sorted = plan.requests.map((q, n) => ({ q, n })).sort((a, b) => a.q.at - b.q.at || a.n - b.n);
  for (const { q } of sorted) {
    const key = keyOf(plan.recipients[q.recipient]!.address, q.kind, q.position, q.ip, q.userAgent);
    const list = planned.get(key) ?? [];
    list.push(q);
    planned.set(key, list);
  }
  const pairs: Array<{ q: PlannedRequest; e: EventJson }> = [];
  for (const e of events) {
    const list = planned.get(keyOf(e.recipient, e.type, e.position, e.ip, e.userAgent));
    const q = list?.shift();
    if (!q) throw new Error(`an event nobody planned: ${JSON.stringify(e)}`);
    pairs.push({ q, e });
  }
  const left = [...planned.values()].reduce((n, l) => n + l.length, 0);
  if (left > 0) throw new Error(`${left} planned requests have no event`);
  for (const list of planned.values()) if (new Set(list.map((q) => q.machine)).size > 1) throw new Error('one key holds both people and machines');
  return pairs;
}

function score(pairs: Array<{ q: PlannedRequest; e: EventJson }>) {
  const byKind = { click: emptyScore(), open: emptyScore() };
  const actors = new Map<string, Tally & { kind: string; machine: boolean }>();
  for (const { q, e } of pairs) {
    const s = byKind[q.kind];
    const tally = q.machine ? s.machine : s.human;
    tally.total++;
    if (e.machine) tally.flagged++;
    const rules = new Set(reasonsOf(e.machineReason).map(ruleOf));
    for (const rule of rules) {
      const r = s.rules.get(rule) ?? { machine: 0, human: 0, alone: 0 };
      if (q.machine) r.machine++;
      else r.human++;
      if (q.machine && rules.size === 1) r.alone++;
      s.rules.set(rule, r);
    }
    const actorKey = `${q.kind} ${q.actor}`;
    const a = actors.get(actorKey) ?? { kind: q.kind, machine: q.machine, total: 0, flagged: 0 };
    a.total++;
    if (e.machine) a.flagged++;
    actors.set(actorKey, a);
  }
  return { byKind, actors };
}

const pct = (n: number, d: number): string => (d === 0 ? '-' : `${((100 * n) / d).toFixed(1)}%`);

function render(result: ReturnType<typeof score>, extra: { followUps: number; followUpsMachine: number }): string {
  const out: string[] = [];
  for (const kind of ['click', 'open'] as const) {
    const s = result.byKind[kind];
    out.push(`${kind}s: ${s.machine.total} by machines, ${s.human.total} by people`);
    out.push(`  ${'rule'.padEnd(16)} ${'machines flagged'.padStart(17)} ${'by it alone'.padStart(12)} ${'people flagged'.padStart(15)}`);
    out.push(
      `  ${'all rules'.padEnd(16)} ${pct(s.machine.flagged, s.machine.total).padStart(17)} ${''.padStart(12)} ${pct(s.human.flagged, s.human.total).padStart(15)}`,
    );
    const rules = [...s.rules.entries()].sort((a, b) => b[1].machine - a[1].machine || a[0].localeCompare(b[0]));
    for (const [rule, r] of rules) {
      out.push(
        `  ${rule.padEnd(16)} ${pct(r.machine, s.machine.total).padStart(17)} ${pct(r.alone, s.machine.total).padStart(12)} ${pct(r.human, s.human.total).padStart(15)}`,
      );
    }
    out.push('');
  }
  out.push('by actor (kind, who: flagged / events)');
  for (const [actor, a] of [...result.actors.entries()].sort((x, y) => x[0].localeCompare(y[0]))) {
    out.push(
      `  ${actor.padEnd(28)} ${a.machine ? 'machine' : 'human  '}  ${String(a.flagged).padStart(5)} / ${String(a.total).padEnd(5)} ${pct(a.flagged, a.total).padStart(6)}`,
    );
  }
  out.push('');
  out.push(`reclassified after the event (follow-ups): ${extra.followUps} (${extra.followUpsMachine} of them machine events)`);
  return out.join('\n');
}

async function main(): Promise<void> {
  const plan = planTraffic({ seed: SEED, recipients: RECIPIENTS, capMs: CAP_MS });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-truth-'));
  const dataDir = path.join(dir, 'data');
  await mkdir(dataDir, { recursive: true });
  const jsonl = path.join(dir, 'events.jsonl');
  const config = [
    '[http]',
    'trusted_proxies = "127.0.0.1"',
    '[tracking]',
    'honeypot = true',
    '[events]',
    `jsonl_path = "${jsonl}"`,
    'jsonl_fsync = "never"',
    '',
  ].join('\n');
  const daemon = await DaemonProcess.start({ role: 'serve', dataDir, configToml: config, nodeOptions: ['--import', REPLAY_CLOCK] });
  try {
    process.stderr.write(`seed ${SEED}: ${plan.recipients.length} recipients, ${plan.requests.length} requests\n`);
    const links = await deliver(daemon, plan);
    // Replay time starts after every delivery, on a whole second: the same seed, the same times apart.
    const t0 = Math.ceil(Date.now() / 1000) * 1000 + 1000;
    process.stderr.write(`delivered; replaying\n`);
    const failures = await replay(plan, links, t0);
    if (failures.length > 0) throw new Error(`${failures.length} requests failed, e.g. ${failures.slice(0, 3).join('; ')}`);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // verdict changes, then the sink
    const events = (await cli(['events', '--sendid', SEND_ID, '--format', 'json', ...daemon.cliFlags]))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as EventJson);
    const pairs = pairUp(plan, events);
    const result = score(pairs);
    if (args.explain) explain(plan, pairs);
    const lines = (await readFile(jsonl, 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as EventJson);
    const followUps = lines.filter((l) => l.reclassified);
    const labelById = new Map(pairs.map((p) => [p.e.id, p.q.machine]));
    const text = render(result, { followUps: followUps.length, followUpsMachine: followUps.filter((f) => labelById.get(f.id)).length });
    process.stdout.write(`bench:truth seed ${SEED}, ${plan.recipients.length} recipients, ${plan.requests.length} requests, replay time\n\n${text}\n`);
    await mkdir(path.dirname(OUT_FILE), { recursive: true });
    const json = {
      seed: SEED,
      recipients: plan.recipients.length,
      requests: plan.requests.length,
      clicks: summary(result.byKind.click),
      opens: summary(result.byKind.open),
      actors: Object.fromEntries(result.actors),
      followUps: followUps.length,
    };
    await writeFile(OUT_FILE, JSON.stringify(json, null, 2) + '\n');
  } finally {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** --explain: every misjudged event with its recipient's whole story, on stderr. */
function explain(plan: TrafficPlan, pairs: Array<{ q: PlannedRequest; e: EventJson }>): void {
  const byRecipient = new Map<number, Array<{ q: PlannedRequest; e: EventJson }>>();
  for (const p of pairs) byRecipient.set(p.q.recipient, [...(byRecipient.get(p.q.recipient) ?? []), p]);
  for (const [recipient, list] of byRecipient) {
    if (!list.some((p) => p.q.machine !== p.e.machine)) continue;
    process.stderr.write(`recipient ${recipient} (${plan.recipients[recipient]!.links} links):\n`);
    for (const p of list.sort((a, b) => a.q.at - b.q.at)) {
      const wrong = p.q.machine !== p.e.machine ? '  WRONG' : '';
      process.stderr.write(
        `  ${(p.q.at / 1000).toFixed(1).padStart(8)} s ${p.q.kind} ${p.q.position} ${p.q.method} ${p.q.ip} ${p.q.actor} -> ${p.e.machineReason ?? 'person'}${wrong}\n`,
      );
    }
  }
}

function summary(s: Score) {
  return {
    machines: s.machine.total,
    people: s.human.total,
    recall: s.machine.total ? s.machine.flagged / s.machine.total : null,
    falsePositives: s.human.total ? s.human.flagged / s.human.total : null,
    rules: Object.fromEntries(
      [...s.rules.entries()].map(([rule, r]) => [
        rule,
        { machines: r.machine / (s.machine.total || 1), alone: r.alone / (s.machine.total || 1), people: r.human / (s.human.total || 1) },
      ]),
    ),
  };
}

/**
 * --judge: the same plan through the judge in this process on replay time (./truth-judge.ts), no
 * daemon: its figures, and what judging costs per event (the median of --rounds after a warm-up).
 */
async function judgeMain(): Promise<void> {
  const plan = planTraffic({ seed: SEED, recipients: RECIPIENTS, capMs: CAP_MS });
  const ranges = await loadRangeDir(SHIPPED_RANGES_DIR);
  const run = () => replayThroughJudge(plan, { ranges });
  const first = run();
  const times: number[] = [];
  for (let i = 0; i < Number(args.rounds); i++) times.push(run().elapsedMs);
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  const pairs = plan.requests.map((q, n) => {
    const machineReason = first.verdicts[n];
    const e = { machine: machineReason !== undefined, ...(machineReason ? { machineReason } : {}) } as EventJson;
    return { q, e };
  });
  const text = render(score(pairs), { followUps: first.followUps.length, followUpsMachine: first.followUps.filter((n) => plan.requests[n]!.machine).length });
  process.stdout.write(
    `bench:truth --judge seed ${SEED}, ${plan.recipients.length} recipients, ${plan.requests.length} requests, replay time, in process\n\n${text}\n\n`,
  );
  process.stdout.write(
    `judge: ${((1000 * median) / plan.requests.length).toFixed(2)} µs per judged event (median of ${times.length} rounds of ${plan.requests.length}; judge, remember and the search for verdict changes)\n`,
  );
  // The context rules alone against the quadratic reference they replaced, in interleaved rounds (a
  // shared machine's load falls on both alike): over the histories the replay gives them, and over 32
  // events of one sweep, the most a recipient keeps and what made the rules show in profiles.
  const histories = contextHistories(plan, { ranges });
  const sizes = histories.map((h) => h.length).sort((a, b) => a - b);
  const sweep: SeenEvent[] = Array.from({ length: 32 }, (_, k) => ({
    time: 1_000 + k * 50,
    kind: 'click',
    position: k,
    part: 'h',
    honeypot: k === 0,
    network: '203.0.113.0',
    client: '203.0.113.0\nscanner',
    requestMachine: false,
  }));
  const sweeps = Array.from({ length: 2_000 }, () => sweep);
  // bench:redirect's one-token row: one person clicking one link over and over, 32 kept.
  const repeat: SeenEvent[] = sweep.map((e) => ({ ...e, position: 1, honeypot: false, client: '198.51.100.0\nbrowser', network: '198.51.100.0' }));
  const repeats = Array.from({ length: 2_000 }, () => repeat);
  const rounds = Math.max(1, Number(args.rounds));
  const timed = (sets: SeenEvent[][]) => {
    const took = { linear: [] as number[], reference: [] as number[] };
    for (let i = 0; i <= rounds; i++) {
      for (const [name, f] of [
        ['linear', contextReasons],
        ['reference', referenceContextReasons],
      ] as const) {
        const started = performance.now();
        for (const h of sets) f(h, DEFAULT_CONTEXT_SETTINGS);
        if (i > 0) took[name].push((1000 * (performance.now() - started)) / sets.length); // round 0 warms up
      }
    }
    const mid = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    return { linear: mid(took.linear), reference: mid(took.reference) };
  };
  const line = (what: string, t: { linear: number; reference: number }): string =>
    `  ${what.padEnd(58)} ${t.linear.toFixed(2).padStart(7)} µs  ${t.reference.toFixed(2).padStart(7)} µs  ${(t.reference / t.linear).toFixed(1).padStart(5)}x\n`;
  process.stdout.write(`context rules per call (median of ${rounds} interleaved rounds)          linear    quadratic  ratio\n`);
  process.stdout.write(
    line(
      `replay's histories (median ${sizes[Math.floor(sizes.length / 2)]}, p99 ${sizes[Math.floor(sizes.length * 0.99)]}, most ${sizes.at(-1)} events)`,
      timed(histories),
    ),
  );
  process.stdout.write(line('32 events of one sweep (burst and honeypot)', timed(sweeps)));
  process.stdout.write(line('32 clicks on one link by one client (bench:redirect)', timed(repeats)));
}

await (args.judge ? judgeMain() : main());
