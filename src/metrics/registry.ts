/**
 * A small Prometheus registry (text exposition format 0.0.4) shared by the redirector and the milter
 * side. Hand-written rather than prom-client because the hot path must stay a property increment:
 * label sets are resolved once into children that callers keep, and rendering only happens on scrape.
 */
import { CodedError } from '../util/errors.js';
import { MetricsErrorCode } from './errors.js';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

function formatLabels(names: readonly string[], values: readonly string[], extra = ''): string {
  const parts = names.map((name, i) => `${name}="${escapeLabelValue(values[i] ?? '')}"`);
  if (extra) parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function formatNumber(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return Number.isNaN(value) ? 'NaN' : String(value);
}

interface Metric {
  readonly name: string;
  render(out: string[]): void;
}

export class CounterChild {
  value = 0;
  inc(amount = 1): void {
    this.value += amount;
  }
}

export class Counter implements Metric {
  private readonly children = new Map<string, { values: string[]; child: CounterChild }>();

  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly labelNames: readonly string[],
  ) {
    // An unlabelled counter is present (at 0) from the start, as Prometheus clients expect.
    if (labelNames.length === 0) this.labels();
  }

  /** The counter for one set of label values; keep it rather than calling this per event. */
  labels(...values: string[]): CounterChild {
    if (values.length !== this.labelNames.length) {
      throw new CodedError(MetricsErrorCode.INVALID, `${this.name} takes ${this.labelNames.length} label values, got ${values.length}`);
    }
    const key = values.join('\u0000');
    let entry = this.children.get(key);
    if (!entry) {
      entry = { values, child: new CounterChild() };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  inc(amount = 1): void {
    this.labels().inc(amount);
  }

  /** The value for one set of label values (0 if never incremented). */
  get(...values: string[]): number {
    return this.children.get(values.join('\u0000'))?.child.value ?? 0;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} counter`);
    for (const { values, child } of this.children.values()) {
      out.push(`${this.name}${formatLabels(this.labelNames, values)} ${formatNumber(child.value)}`);
    }
  }
}

/** One sample of a collected metric: its label values, in the order of the metric's label names. */
type Sample = readonly [labelValues: readonly string[], value: number];

/**
 * A labelled counter or gauge whose samples are read from their owner at scrape time, for figures a
 * component already keeps (a store's cache hits): the hot path never touches the registry.
 */
class CollectedMetric implements Metric {
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly type: 'counter' | 'gauge',
    private readonly labelNames: readonly string[],
    private readonly read: () => Iterable<Sample>,
  ) {}

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`);
    for (const [values, value] of this.read()) {
      if (values.length !== this.labelNames.length) {
        throw new CodedError(MetricsErrorCode.INVALID, `${this.name} takes ${this.labelNames.length} label values, got ${values.length}`);
      }
      out.push(`${this.name}${formatLabels(this.labelNames, values)} ${formatNumber(value)}`);
    }
  }
}

export class Histogram implements Metric {
  /** Per bucket (not cumulative; summed on render), plus one for +Inf. */
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly buckets: readonly number[],
  ) {
    for (let i = 1; i < buckets.length; i += 1) {
      if ((buckets[i] ?? 0) <= (buckets[i - 1] ?? 0)) throw new CodedError(MetricsErrorCode.INVALID, `${name}: buckets must increase`);
    }
    this.counts = new Array<number>(buckets.length + 1).fill(0);
  }

  observe(value: number): void {
    let i = 0;
    const buckets = this.buckets;
    while (i < buckets.length && value > (buckets[i] as number)) i += 1;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count += 1;
  }

  get observations(): number {
    return this.count;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} histogram`);
    let cumulative = 0;
    this.buckets.forEach((bound, i) => {
      cumulative += this.counts[i] ?? 0;
      out.push(`${this.name}_bucket{le="${formatNumber(bound)}"} ${cumulative}`);
    });
    cumulative += this.counts[this.buckets.length] ?? 0;
    out.push(`${this.name}_bucket{le="+Inf"} ${cumulative}`, `${this.name}_sum ${formatNumber(this.sum)}`, `${this.name}_count ${this.count}`);
  }
}

/** Latency buckets in seconds, from 0.25 ms (a fast redirect) to 2.5 s (a stuck store). */
const LATENCY_BUCKETS = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

function checkLabelNames(metric: string, labelNames: readonly string[]): void {
  for (const label of labelNames) {
    if (!LABEL_NAME.test(label) || label === 'le') throw new CodedError(MetricsErrorCode.INVALID, `invalid label name "${label}" for ${metric}`);
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    checkLabelNames(name, labelNames);
    return this.add(new Counter(name, help, labelNames));
  }

  /** A labelled counter or gauge read at scrape time from figures its owner keeps anyway. */
  collected(name: string, help: string, type: 'counter' | 'gauge', labelNames: readonly string[], read: () => Iterable<Sample>): CollectedMetric {
    checkLabelNames(name, labelNames);
    return this.add(new CollectedMetric(name, help, type, labelNames, read));
  }

  /** A gauge read at scrape time (queue lengths, open sessions): nothing to update on the hot path. */
  gauge(name: string, help: string, read: () => number): CollectedMetric {
    return this.add(new CollectedMetric(name, help, 'gauge', [], () => [[[], read()]]));
  }

  histogram(name: string, help: string, buckets: readonly number[] = LATENCY_BUCKETS): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }

  /** The text exposition of every metric, in registration order. */
  render(): string {
    const out: string[] = [];
    for (const metric of this.metrics.values()) metric.render(out);
    out.push('');
    return out.join('\n');
  }

  private add<T extends Metric>(metric: T): T {
    if (!METRIC_NAME.test(metric.name)) throw new CodedError(MetricsErrorCode.INVALID, `invalid metric name "${metric.name}"`);
    if (this.metrics.has(metric.name)) throw new CodedError(MetricsErrorCode.INVALID, `metric ${metric.name} is registered twice`);
    this.metrics.set(metric.name, metric);
    return metric;
  }
}

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
