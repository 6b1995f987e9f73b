import type { Registry } from 'prom-client';

/**
 * Counters and histograms for the request path, exposed through prom-client's registry.
 *
 * Why not prom-client's own Counter/Histogram there: every `inc()`/`observe()` (also through a
 * `labels()` child) validates the labels and builds a hash string from them, i.e. a few short-lived
 * objects per call. At thousands of tool calls a second that is measurable garbage. Here a label
 * tuple is resolved to its series once, callers keep the series, and recording is arithmetic on a
 * preallocated array. prom-client still formats everything (it takes any object with `get()`).
 */
export interface CounterSeries {
  inc(by?: number): void;
}

export interface HistogramSeries {
  observe(seconds: number): void;
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** The shape prom-client's Registry needs from a metric (see Registry#getMetricsAsString). */
interface RegistrableMetric {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: 'sum' }>;
  reset(): void;
}

function labelsOf(names: readonly string[], values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  names.forEach((name, i) => {
    labels[name] = values[i] ?? '';
  });
  return labels;
}

/**
 * A counter family. `series(...)` allocates a key string, so it belongs at set-up or behind a
 * cache of the caller's; `inc()` on the series is one addition.
 */
export function hotCounter(registry: Registry, name: string, help: string, labelNames: readonly string[]): { series(...labelValues: string[]): CounterSeries } {
  const all = new Map<string, { labels: Record<string, string>; value: number }>();
  const metric: RegistrableMetric = {
    name,
    help,
    type: 'counter',
    aggregator: 'sum',
    async get() {
      return { name, help, type: 'counter', aggregator: 'sum', values: [...all.values()].map((s) => ({ labels: s.labels, value: s.value })) };
    },
    reset() {
      for (const s of all.values()) s.value = 0;
    },
  };
  registry.registerMetric(metric as never);
  return {
    series(...labelValues) {
      const key = labelValues.join('\u0000');
      let s = all.get(key);
      if (!s) all.set(key, (s = { labels: labelsOf(labelNames, labelValues), value: 0 }));
      const entry = s;
      return {
        inc(by = 1) {
          entry.value += by;
        },
      };
    },
  };
}

/** A histogram family with fixed buckets (seconds), recorded like {@link hotCounter}. */
export function hotHistogram(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
  buckets: readonly number[],
): { series(...labelValues: string[]): HistogramSeries } {
  const all = new Map<string, { labels: Record<string, string>; counts: Float64Array; sum: number; count: number }>();
  const metric: RegistrableMetric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    async get() {
      const values: MetricValue[] = [];
      for (const s of all.values()) {
        let cumulative = 0;
        buckets.forEach((le, i) => {
          cumulative += s.counts[i] ?? 0;
          values.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le }, value: cumulative });
        });
        values.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count });
        values.push({ metricName: `${name}_sum`, labels: s.labels, value: s.sum });
        values.push({ metricName: `${name}_count`, labels: s.labels, value: s.count });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
    reset() {
      for (const s of all.values()) {
        s.counts.fill(0);
        s.sum = 0;
        s.count = 0;
      }
    },
  };
  registry.registerMetric(metric as never);
  return {
    series(...labelValues) {
      const key = labelValues.join('\u0000');
      let s = all.get(key);
      if (!s) all.set(key, (s = { labels: labelsOf(labelNames, labelValues), counts: new Float64Array(buckets.length), sum: 0, count: 0 }));
      const entry = s;
      return {
        observe(seconds) {
          // Per-bucket (not cumulative) counts: one increment per observation; get() accumulates.
          let i = 0;
          while (i < buckets.length && seconds > (buckets[i] as number)) i++;
          if (i < buckets.length) entry.counts[i] = (entry.counts[i] ?? 0) + 1;
          entry.sum += seconds;
          entry.count += 1;
        },
      };
    },
  };
}
