import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../../src/metrics/registry.js';

describe('metrics registry', () => {
  it('renders counters, gauges and histograms in the Prometheus text format', () => {
    const registry = new MetricsRegistry();
    const passed = registry.counter('trackmilter_milter_passed_total', 'Messages passed unchanged, by reason.', ['reason']);
    passed.labels('dkim').inc();
    passed.labels('dkim').inc(2);
    passed.labels('say "hi"\\\n').inc();
    registry.counter('trackmilter_milter_errors_total', 'Errors.').inc();
    registry.gauge('trackmilter_queue', 'Queued.', () => 7);
    const latency = registry.histogram('trackmilter_latency_seconds', 'Latency.', [0.01, 0.1]);
    latency.observe(0.005);
    latency.observe(0.01);
    latency.observe(0.05);
    latency.observe(3);
    expect(registry.render()).toBe(
      [
        '# HELP trackmilter_milter_passed_total Messages passed unchanged, by reason.',
        '# TYPE trackmilter_milter_passed_total counter',
        'trackmilter_milter_passed_total{reason="dkim"} 3',
        'trackmilter_milter_passed_total{reason="say \\"hi\\"\\\\\\n"} 1',
        '# HELP trackmilter_milter_errors_total Errors.',
        '# TYPE trackmilter_milter_errors_total counter',
        'trackmilter_milter_errors_total 1',
        '# HELP trackmilter_queue Queued.',
        '# TYPE trackmilter_queue gauge',
        'trackmilter_queue 7',
        '# HELP trackmilter_latency_seconds Latency.',
        '# TYPE trackmilter_latency_seconds histogram',
        'trackmilter_latency_seconds_bucket{le="0.01"} 2',
        'trackmilter_latency_seconds_bucket{le="0.1"} 3',
        'trackmilter_latency_seconds_bucket{le="+Inf"} 4',
        'trackmilter_latency_seconds_sum 3.065',
        'trackmilter_latency_seconds_count 4',
        '',
      ].join('\n'),
    );
  });

  it('refuses duplicate and malformed names and wrong label counts', () => {
    const registry = new MetricsRegistry();
    registry.counter('a_total', 'A.');
    expect(() => registry.counter('a_total', 'A again.')).toThrow(expect.objectContaining({ code: 'EMETRICS' }));
    expect(() => registry.counter('bad-name', 'B.')).toThrow(/invalid metric name/);
    expect(() => registry.counter('c_total', 'C.', ['le'])).toThrow(/invalid label/);
    expect(() => registry.counter('d_total', 'D.', ['x']).labels()).toThrow(/takes 1 label/);
  });

  it('collected metrics read their samples at each scrape, with their type and labels', () => {
    const registry = new MetricsRegistry();
    const figures = { hits: 1, misses: 2 };
    registry.collected('cache_lookups_total', 'Lookups.', 'counter', ['cache', 'result'], () => [
      [['rows', 'hit'], figures.hits],
      [['rows', 'miss'], figures.misses],
    ]);
    registry.collected('cache_entries', 'Entries.', 'gauge', ['cache'], () => [[['rows'], figures.hits + figures.misses]]);
    const lines = (): string[] => registry.render().split('\n');
    expect(lines()).toEqual([
      '# HELP cache_lookups_total Lookups.',
      '# TYPE cache_lookups_total counter',
      'cache_lookups_total{cache="rows",result="hit"} 1',
      'cache_lookups_total{cache="rows",result="miss"} 2',
      '# HELP cache_entries Entries.',
      '# TYPE cache_entries gauge',
      'cache_entries{cache="rows"} 3',
      '',
    ]);
    figures.hits = 40;
    expect(lines()).toContain('cache_lookups_total{cache="rows",result="hit"} 40');
    expect(lines()).toContain('cache_entries{cache="rows"} 42');
    expect(() => registry.collected('bad_total', 'B.', 'counter', ['le'], () => [])).toThrow(/invalid label/);
    registry.collected('short_total', 'S.', 'counter', ['a', 'b'], () => [[['only-a'], 1]]);
    expect(() => registry.render()).toThrow(/short_total takes 2 label values, got 1/);
  });
});
