// A fleet of two `serve` daemons (their own processes) on one PostgreSQL (a private cluster), which is
// stopped under load (messages through both milters, clicks through A's redirector), then started again.
// A applies milter.on_error = accept, B tempfail. Afterwards: no mail lost (each message got its rewrite,
// whose every link resolves, or its host's policy); no acknowledged click lost (every click answered 302
// is in the events table, once); cached links kept redirecting, the rest got 503 with Retry-After;
// /healthz said degraded, then ok; service resumed without a restart.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageResult } from '../../src/milter/client.js';
import { postgresBinaries, startPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { scrape } from './helpers/metrics.js';
import { CLI_BUILT, DaemonProcess, TempDirs, copyKeys, freePort } from './helpers/processes.js';
import { buildNewsletter, pairClicks, readRewritten, type ExpectedClick } from './helpers/newsletter.js';
import { browse, sendThroughMilter } from './helpers/traffic.js';

const binaries = postgresBinaries();
if ('missing' in binaries) console.warn(binaries.missing);

type Phase = 'before' | 'down' | 'after';

interface SentMessage {
  host: 'A' | 'B';
  phase: Phase;
  result: MessageResult | Error;
}

interface Click {
  phase: Phase;
  cached: boolean;
  status: number;
  retryAfter: string | null;
  location: string | null;
}

describe.skipIf(!CLI_BUILT || 'missing' in binaries)('a fleet on PostgreSQL, PostgreSQL stopped under load', () => {
  const dirs = new TempDirs();
  let cluster: PostgresCluster;
  let url: string;
  let hostA: DaemonProcess;
  let hostB: DaemonProcess;
  const message = buildNewsletter();
  let warm: ExpectedClick[];
  const sent: SentMessage[] = [];
  const clicks: Click[] = [];
  const health: Array<{ phase: Phase; status: number; body: { status: string; store?: { available: boolean; outboxWaiting?: number } } }> = [];

  const configFor = (port: number, onError: string): string =>
    [
      '[store]',
      'backend = "postgres"',
      `postgres_url = "${url}"`,
      'postgres_connect_timeout_ms = 1000',
      'postgres_query_timeout_ms = 2000',
      'postgres_retry_ms = 200',
      '',
      '[milter]',
      `on_error = "${onError}"`,
      '',
      '[tracking]',
      `domain = "127.0.0.1:${port}"`,
      'scheme = "http"',
      '',
      '[http]',
      'fast_click_seconds = 0',
      'retry_after_seconds = 5',
      '',
    ].join('\n');

  beforeAll(async () => {
    cluster = await startPostgres();
    url = cluster.url(await cluster.createDatabase());
    const portA = await freePort();
    const dataA = path.join(await dirs.make(), 'data');
    hostA = await DaemonProcess.start({ role: 'serve', dataDir: dataA, httpPort: portA, configToml: configFor(portA, 'accept') });
    const portB = await freePort();
    const dataB = path.join(await dirs.make(), 'data');
    await copyKeys(dataA, dataB);
    hostB = await DaemonProcess.start({ role: 'serve', dataDir: dataB, httpPort: portB, configToml: configFor(portB, 'tempfail') });

    // One message rewritten, and the first half of its links clicked once: those rows (and the
    // message) are in A's read cache; the second half are not.
    const first = await sendThroughMilter(hostA.milterPort, message);
    if (!first.body) throw new Error(`no body from A's milter; ${hostA.diagnostics()}`);
    sent.push({ host: 'A', phase: 'before', result: first });
    warm = pairClicks(readRewritten(first.body, hostA.baseUrl), message.spec);
    for (const click of warm.slice(0, Math.ceil(warm.length / 2))) {
      const answer = await browse(click.link);
      clicks.push({ phase: 'before', cached: true, status: answer.status, retryAfter: null, location: answer.location });
    }

    // Load: messages through both milters, clicks through A, /healthz polled, until stopped.
    let phase: Phase = 'before';
    let running = true;
    const half = Math.ceil(warm.length / 2);
    const mailLoop = async (host: DaemonProcess, name: 'A' | 'B'): Promise<void> => {
      while (running) {
        const at = phase;
        const result = await sendThroughMilter(host.milterPort, message).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
        sent.push({ host: name, phase: at, result });
        await sleep(20);
      }
    };
    const clickLoop = async (offset: number): Promise<void> => {
      for (let i = offset; running; i++) {
        const at = phase;
        // Before the outage only the first half (cached), so the second half is read for the first time while it is down.
        const index = i % (at === 'before' ? half : warm.length);
        const answer = await browse(warm[index]!.link);
        clicks.push({ phase: at, cached: index < half, status: answer.status, retryAfter: answer.retryAfter, location: answer.location });
        await sleep(10);
      }
    };
    const healthLoop = async (): Promise<void> => {
      while (running) {
        const at = phase;
        const answer = await browse(`${hostA.baseUrl}/healthz`);
        health.push({ phase: at, status: answer.status, body: JSON.parse(answer.body.toString()) as (typeof health)[number]['body'] });
        await sleep(50);
      }
    };
    const load = Promise.all([mailLoop(hostA, 'A'), mailLoop(hostB, 'B'), clickLoop(0), clickLoop(3), healthLoop()]);
    await sleep(1000);
    await cluster.stopServer();
    phase = 'down';
    await sleep(2500);
    phase = 'after';
    await cluster.start();
    // Resumes by itself: /healthz ok again and the outbox written, under the same load.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const last = health[health.length - 1];
      if (last?.phase === 'after' && last.body.status === 'ok' && last.body.store?.outboxWaiting === 0) break;
      await sleep(100);
    }
    await sleep(1000);
    running = false;
    await load;
  }, 120_000);

  afterAll(async () => {
    // What the run did, for whoever reads the output (no assertion on it).
    const count = (phase: Phase, ok: (c: Click) => boolean): number => clicks.filter((c) => c.phase === phase && ok(c)).length;
    const mail = (phase: Phase, rewritten: boolean): number =>
      sent.filter((m) => m.phase === phase && !(m.result instanceof Error) && (m.result.body !== null) === rewritten).length;
    console.info(
      `fleet-faults: messages rewritten/policy before ${mail('before', true)}/${mail('before', false)}, down ${mail('down', true)}/${mail('down', false)}, ` +
        `after ${mail('after', true)}/${mail('after', false)}; clicks 302/503 down ${count('down', (c) => c.status === 302)}/${count('down', (c) => c.status === 503)}, ` +
        `total 302 ${clicks.filter((c) => c.status === 302).length}`,
    );
    await hostA?.stop();
    await hostB?.stop();
    await cluster?.stop();
    await dirs.cleanup();
  });

  it('no mail lost: every message got its rewrite with links that resolve, or its host’s failure policy', async () => {
    const failed = sent.filter((m) => m.result instanceof Error);
    expect(failed.map((m) => (m.result as Error).message)).toEqual([]);
    const results = sent.map((m) => ({ ...m, result: m.result as MessageResult }));
    const rewritten = results.filter((m) => m.result.body !== null);
    const policy = results.filter((m) => m.result.body === null);
    // A passes unchanged (continue, no body), B tempfails; nothing else.
    for (const m of policy) expect(m.result.verdict, `${m.host} ${m.phase}`).toBe(m.host === 'A' ? 'c' : 't');
    for (const m of rewritten) expect(m.result.verdict).toBe('c');
    expect(policy.filter((m) => m.host === 'A').length).toBeGreaterThan(0);
    expect(policy.filter((m) => m.host === 'B').length).toBeGreaterThan(0);
    // Before and after the outage both hosts rewrote; while PostgreSQL was down none did.
    for (const host of ['A', 'B'] as const) {
      expect(rewritten.some((m) => m.host === host && m.phase === 'before')).toBe(true);
      expect(rewritten.some((m) => m.host === host && m.phase === 'after')).toBe(true);
    }
    // Every link of every rewritten message resolves to its destination (its row and message were written).
    const seen = new Set<string>();
    for (const m of rewritten) {
      const base = m.host === 'A' ? hostA.baseUrl : hostB.baseUrl;
      for (const click of pairClicks(readRewritten(m.result.body!, base), message.spec)) {
        if (seen.has(click.link)) continue;
        seen.add(click.link);
        const answer = await browse(click.link);
        expect(answer.status, click.link).toBe(302);
        expect(answer.location).toBe(click.original);
        clicks.push({ phase: 'after', cached: false, status: 302, retryAfter: null, location: answer.location });
      }
    }
  });

  it('cached links kept redirecting while PostgreSQL was down; the rest got 503 with Retry-After, never a redirect', () => {
    const down = clicks.filter((c) => c.phase === 'down');
    expect(down.filter((c) => c.cached && c.status === 302).length).toBeGreaterThan(0);
    expect(down.filter((c) => c.cached).every((c) => c.status === 302)).toBe(true);
    const uncached = down.filter((c) => !c.cached);
    expect(uncached.filter((c) => c.status === 503).length).toBeGreaterThan(0);
    for (const c of uncached) {
      expect([302, 503]).toContain(c.status);
      if (c.status === 503) {
        expect(c.location).toBeNull();
        expect(c.retryAfter).toBe('5');
      }
    }
    expect(clicks.filter((c) => c.status !== 302 && c.status !== 503)).toEqual([]);
  });

  it('no acknowledged click lost: every click answered 302 is in the events table, once', async () => {
    const acknowledged = clicks.filter((c) => c.status === 302).length;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const rows = await client.query<{ n: string }>("SELECT count(*) AS n FROM trackmilter_events WHERE type = 'click'");
      expect(Number(rows.rows[0]!.n)).toBe(acknowledged);
    } finally {
      await client.end();
    }
    expect(await scrape(hostA.baseUrl, 'trackmilter_store_outbox_events')).toBe(0);
    expect(await scrape(hostA.baseUrl, 'trackmilter_store_outbox_written_total')).toBeGreaterThan(0);
    expect(await scrape(hostA.baseUrl, 'trackmilter_store_outbox_rejected_total')).toBe(0);
  });

  it('/healthz said degraded (200) while PostgreSQL was down, then ok; the store metrics say what happened', async () => {
    const degraded = health.filter((h) => h.body.status === 'degraded');
    expect(degraded.length).toBeGreaterThan(0);
    for (const h of degraded) {
      expect(h.status).toBe(200);
      expect(h.body.store?.available).toBe(false);
    }
    const last = health[health.length - 1]!;
    expect(last).toMatchObject({ status: 200, body: { status: 'ok', store: { available: true, outboxWaiting: 0 } } });
    expect(health.filter((h) => h.body.status !== 'ok' && h.body.status !== 'degraded')).toEqual([]);
    expect(await scrape(hostA.baseUrl, 'trackmilter_store_available')).toBe(1);
    expect(await scrape(hostA.baseUrl, 'trackmilter_store_errors_total', '{code="ESTORE_UNAVAILABLE"}')).toBeGreaterThan(0);
    expect(hostA.running && hostB.running).toBe(true);
  });
});

describe.skipIf(!CLI_BUILT || 'missing' in binaries)('serve started while PostgreSQL is down', () => {
  const dirs = new TempDirs();
  let cluster: PostgresCluster;
  let host: DaemonProcess;
  afterAll(async () => {
    await host?.stop();
    await cluster?.stop();
    await dirs.cleanup();
  });

  it('starts degraded (mail gets the policy), then migrates and serves once PostgreSQL is up, without a restart', async () => {
    cluster = await startPostgres();
    const url = cluster.url(await cluster.createDatabase());
    await cluster.stopServer();
    const port = await freePort();
    const config = `[store]\nbackend = "postgres"\npostgres_url = "${url}"\npostgres_connect_timeout_ms = 1000\npostgres_retry_ms = 200\n\n[tracking]\ndomain = "127.0.0.1:${port}"\nscheme = "http"\n`;
    host = await DaemonProcess.start({ role: 'serve', dataDir: path.join(await dirs.make(), 'data'), httpPort: port, configToml: config });
    const degraded = await browse(`${host.baseUrl}/healthz`);
    expect(degraded.status).toBe(200);
    expect(JSON.parse(degraded.body.toString())).toMatchObject({ status: 'degraded', store: { available: false } });
    const message = buildNewsletter();
    const passed = await sendThroughMilter(host.milterPort, message);
    expect(passed).toMatchObject({ verdict: 'c', body: null });

    await cluster.start();
    for (let i = 0; i < 300; i++) {
      const health = JSON.parse((await browse(`${host.baseUrl}/healthz`)).body.toString()) as { status: string };
      if (health.status === 'ok') break;
      await sleep(100);
    }
    const rewritten = await sendThroughMilter(host.milterPort, message);
    if (!rewritten.body) throw new Error(`not rewritten once PostgreSQL was up; ${host.diagnostics()}`);
    const click = pairClicks(readRewritten(rewritten.body, host.baseUrl), message.spec)[0]!;
    const answer = await browse(click.link);
    expect(answer.status).toBe(302);
    expect(answer.location).toBe(click.original);
    expect(host.running).toBe(true);
  }, 60_000);
});
