import { describe, expect, it } from 'vitest';
import { milterMetrics } from '../../src/app/milter-metrics.js';
import { MetricsRegistry } from '../../src/metrics/registry.js';

describe('milter metrics', () => {
  it('count messages by outcome, skips by reason, and limits hit by limit', () => {
    const registry = new MetricsRegistry();
    const count = milterMetrics(registry);
    count({ queueId: 'A', outcome: 'modified', bodyBytes: 10, ms: 1, limitsHit: ['max-links'] });
    count({ queueId: 'B', outcome: 'modified', bodyBytes: 10, ms: 1 });
    count({ queueId: 'C', outcome: 'skipped', bodyBytes: 10, ms: 1, reason: 'dkim-signed' });
    const text = registry.render();
    expect(text).toMatch(/^trackmilter_milter_messages_total\{outcome="modified"\} 2$/m);
    expect(text).toMatch(/^trackmilter_milter_skipped_total\{reason="dkim-signed"\} 1$/m);
    expect(text).toMatch(/^trackmilter_milter_limit_hits_total\{limit="max-links"\} 1$/m);
    expect(count.total()).toBe(3);
  });
});
