import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../../src/redirector/metrics.js';

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
});
