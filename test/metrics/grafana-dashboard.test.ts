// The Grafana dashboard in grafana/ against what a real daemon exports: every metric a query names is
// on /metrics, and every label a query groups by or a legend shows is a label that metric carries.
// Traffic first (a message through the milter, a click, refusals, a handoff), so labelled metrics
// have samples to read their labels from. The store panel's PostgreSQL metrics come from a second
// daemon on a private PostgreSQL cluster, when PostgreSQL's binaries are here.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BUILT, DaemonProcess, PROJECT_ROOT, TempDirs } from '../app/helpers/processes.js';
import { buildNewsletter, readRewritten } from '../app/helpers/newsletter.js';
import { browse, rawExchange, sendThroughMilter } from '../app/helpers/traffic.js';
import { postgresBinaries, startPostgres, type PostgresCluster } from '../helpers/postgres.js';

const binaries = postgresBinaries();
/** Exported only by a daemon whose store is on PostgreSQL (src/app/store-metrics.ts). */
const POSTGRES_ONLY = /^trackmilter_store_(available|errors_total|outbox_)/;

const DASHBOARD = path.join(PROJECT_ROOT, 'grafana', 'trackmilter-dashboard.json');

interface Target {
  expr: string;
  legendFormat?: string;
  refId: string;
}
interface Panel {
  id: number;
  title: string;
  type: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource: { type: string; uid: string };
  targets: Target[];
}
interface GrafanaDashboard {
  __inputs: { name: string; type: string; pluginId: string }[];
  title: string;
  uid: string;
  schemaVersion: number;
  panels: Panel[];
}

/** Metric name -> the label names seen on its samples (histograms: also under _bucket, _sum, _count). */
function exported(text: string): Map<string, Set<string>> {
  const metrics = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      const names = type[2] === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => type[1] + s) : [type[1]!];
      for (const name of names) metrics.set(name, metrics.get(name) ?? new Set());
      continue;
    }
    const sample = /^([a-z_:][a-z0-9_:]*)(?:\{([^}]*)\})? /i.exec(line);
    if (!sample || line.startsWith('#')) continue;
    const labels = metrics.get(sample[1]!) ?? new Set<string>();
    for (const m of (sample[2] ?? '').matchAll(/([a-z_][a-z0-9_]*)="/gi)) labels.add(m[1]!);
    metrics.set(sample[1]!, labels);
  }
  return metrics;
}

describe.skipIf(!CLI_BUILT)('Grafana dashboard', () => {
  const dirs = new TempDirs();
  let daemon: DaemonProcess;
  let metricsText: string;
  let cluster: PostgresCluster | undefined;
  let pgDaemon: DaemonProcess | undefined;
  /** /metrics of a daemon on PostgreSQL; empty without PostgreSQL here. */
  let pgMetricsText = '';
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as GrafanaDashboard;

  beforeAll(async () => {
    const dataDir = await dirs.make('grafana');
    const secret = `${dataDir}.secret`;
    await writeFile(secret, 'a webhook secret of some length', { mode: 0o600 });
    // Both sinks on, so their metrics exist (the webhook receiver is nowhere: its queue just grows).
    daemon = await DaemonProcess.start({
      role: 'serve',
      dataDir,
      configToml: `[events]\njsonl_path = "${dataDir}.jsonl"\nwebhook_url = "http://127.0.0.1:9/hook"\nwebhook_secret_file = "${secret}"\n`,
    });
    const message = buildNewsletter();
    const result = await sendThroughMilter(daemon.milterPort, message);
    const rewritten = readRewritten(result.body!, daemon.baseUrl);
    // A signed message is skipped (reason dkim-signed).
    const signed = buildNewsletter();
    await sendThroughMilter(daemon.milterPort, {
      ...signed,
      headers: [{ name: 'DKIM-Signature', value: 'v=1; a=rsa-sha256; d=shop.example; s=s1; b=AAAA' }, ...signed.headers],
    });
    await browse(rewritten.htmlClicks[0]!);
    await browse(rewritten.pixels[0]!);
    await browse(`${daemon.baseUrl}/c/not-a-token`);
    await browse(`${daemon.baseUrl}/c/${'x'.repeat(9000)}`);
    await rawExchange(daemon.httpPort, `POST /c/x HTTP/1.1\r\nHost: ${daemon.httpAddress}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    metricsText = (await browse(`${daemon.baseUrl}/metrics`)).body.toString();

    if ('missing' in binaries) return;
    cluster = await startPostgres();
    const url = cluster.url(await cluster.createDatabase());
    pgDaemon = await DaemonProcess.start({
      role: 'serve',
      dataDir: await dirs.make('grafana-pg'),
      configToml: `[store]\nbackend = "postgres"\npostgres_url = "${url}"\n`,
    });
    // PostgreSQL stopped, a message through the milter: the store counts its failure by code (the
    // label the panel groups by) before the milter answers with its failure policy.
    await cluster.stopServer();
    await sendThroughMilter(pgDaemon.milterPort, buildNewsletter());
    pgMetricsText = (await browse(`${pgDaemon.baseUrl}/metrics`)).body.toString();
  }, 90_000);

  afterAll(async () => {
    await pgDaemon?.stop();
    await cluster?.stop();
    await daemon?.stop();
    await dirs.cleanup();
  });

  it('imports: a Prometheus data source input, a uid, unique panel ids, a query on every panel', () => {
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    for (const panel of dashboard.panels) {
      expect(panel.datasource.uid, panel.title).toBe('${DS_PROMETHEUS}');
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const t of panel.targets) expect(t.expr, panel.title).toMatch(/trackmilter_/);
    }
  });

  it('every metric a query names is exported, with the labels the query uses', () => {
    const metrics = exported(metricsText);
    expect(metrics.size).toBeGreaterThan(10);
    for (const [name, labels] of exported(pgMetricsText)) if (!metrics.has(name)) metrics.set(name, labels);
    const unchecked: string[] = [];
    const problems: string[] = [];
    const named = new Set<string>();
    for (const panel of dashboard.panels) {
      for (const t of panel.targets) {
        const names = [...t.expr.matchAll(/\btrackmilter_[a-z0-9_]+/g)].map((m) => m[0]);
        const labels = new Set([
          ...[...t.expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((s) => s.trim())),
          ...[...(t.legendFormat ?? '').matchAll(/\{\{\s*([a-z_]+)\s*\}\}/g)].map((m) => m[1]!),
        ]);
        labels.delete('le');
        for (const name of names) {
          named.add(name);
          const has = metrics.get(name);
          if (!has && 'missing' in binaries && POSTGRES_ONLY.test(name)) {
            unchecked.push(name);
            continue;
          }
          if (!has) {
            problems.push(`${panel.title}: ${name} is not exported`);
            continue;
          }
          for (const label of labels)
            if (!has.has(label)) problems.push(`${panel.title}: ${name} has no label ${label} (has ${[...has].join(', ') || 'none'})`);
        }
      }
    }
    expect(problems).toEqual([]);
    if (unchecked.length > 0) console.warn(`${(binaries as { missing: string }).missing}: not checked (PostgreSQL only): ${unchecked.join(', ')}`);
    // The dashboard covers what the issues ask for: milter outcomes, requests and latency, events, sink
    // queues, the message workers and the event loop, and a store on PostgreSQL.
    for (const wanted of [
      'trackmilter_milter_messages_total',
      'trackmilter_http_requests_total',
      'trackmilter_http_request_duration_seconds_bucket',
      'trackmilter_events_recorded_total',
      'trackmilter_sink_webhook_queue_depth',
      'trackmilter_tracking_queue',
      'trackmilter_event_loop_delay_seconds',
      'trackmilter_gc_collections_total',
      'trackmilter_store_available',
      'trackmilter_store_outbox_events',
    ]) {
      expect(named).toContain(wanted);
    }
  });
});
