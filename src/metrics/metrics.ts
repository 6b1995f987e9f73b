import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { UpstreamObserver } from '../outbound/observe.js';
import type { ToolCallOutcome } from '../usage/usage-recorder.js';
import { hotCounter, hotHistogram, type CounterSeries, type HistogramSeries } from './hot-metrics.js';

/** Seconds; from a warm tool call (~1 ms) to a slow upstream (the 30 s timeout). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/**
 * Tool names come from provider files and remote MCP servers, but a call may name a tool that does
 * not exist: past this many distinct names per provider the rest count as `other`, so a client
 * cannot grow the label set (and this process's memory) without bound.
 */
const MAX_TOOLS_PER_PROVIDER = 500;
const MAX_PROVIDERS = 200;

/** What the scrape reads from the running app: plain numbers the domain objects keep anyway. */
export interface MetricSources {
  pool: { readonly totalCount: number; readonly idleCount: number; readonly waitingCount: number };
  caches: Record<string, { readonly hits: number; readonly misses: number; readonly size: number }>;
  bcrypt: { readonly compares: number; readonly hashes: number };
  refreshes: Readonly<Record<string, number>>;
  /** Refusals since start per limit (`key`, `failed_auth_address`, `registration_address`). */
  refusals: () => Record<string, number>;
  /** ms since the epoch of the last successful write, per background sync. */
  syncedAt: () => Record<string, number>;
}

export interface Metrics {
  readonly registry: Registry;
  /** One finished HTTP request; `route` is a route pattern (never a path with ids in it). */
  http(method: string, route: string, status: number, seconds: number): void;
  /** The same for one fixed route, resolved once: the /mcp fast path records with no lookup by name. */
  route(method: string, route: string): (status: number, seconds: number) => void;
  readonly upstream: UpstreamObserver;
  toolCall(call: ToolCallOutcome): void;
  /** Connects the gauges and pulled counters to the app's parts (once, when they exist). */
  watch(sources: MetricSources): void;
}

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const classOf = (status: number): number => Math.min(4, Math.max(0, Math.floor(status / 100) - 1));

/** Counters that mirror a number the app keeps: reset and set to it at every scrape. */
function pulled(registry: Registry, name: string, help: string, labelNames: string[], read: () => Array<[Record<string, string>, number]>): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const httpCount = hotCounter(registry, 'mcp_proxy_http_requests_total', 'HTTP requests by method, route pattern and status class.', ['method', 'route', 'status_class']);
  const httpTime = hotHistogram(registry, 'mcp_proxy_http_request_duration_seconds', 'HTTP request latency by method, route pattern and status class.', ['method', 'route', 'status_class'], LATENCY_BUCKETS);
  const toolCalls = hotCounter(registry, 'mcp_proxy_tool_calls_total', 'Tool calls by provider, tool and outcome (ok or error).', ['provider', 'tool', 'outcome']);
  const upstreamTime = hotHistogram(registry, 'mcp_proxy_upstream_request_duration_seconds', 'Upstream requests made by tool calls, by provider and status (class, timeout or error).', ['provider', 'status'], LATENCY_BUCKETS);

  // Series are resolved once per label tuple and kept, so recording allocates nothing.
  const httpSeries = new Map<string, Array<{ count: CounterSeries; time: HistogramSeries }>>();
  const toolSeries = new Map<string, Map<string, [CounterSeries, CounterSeries]>>();
  const upstreamSeries = new Map<string, Map<string, HistogramSeries>>();

  let sources: MetricSources | undefined;
  const watched = (): MetricSources | undefined => sources;

  new Gauge({
    name: 'mcp_proxy_db_pool_connections',
    help: 'Database pool connections: total open, idle, and requests waiting for one.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const pool = watched()?.pool;
      if (!pool) return;
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
  new Gauge({
    name: 'mcp_proxy_cache_entries',
    help: 'Entries held per in-memory cache.',
    labelNames: ['cache'],
    registers: [registry],
    collect() {
      for (const [cache, c] of Object.entries(watched()?.caches ?? {})) this.set({ cache }, c.size);
    },
  });
  new Gauge({
    name: 'mcp_proxy_cache_hit_ratio',
    help: 'Hits / lookups per in-memory cache since the process started (rate() the lookups counter for a window).',
    labelNames: ['cache'],
    registers: [registry],
    collect() {
      for (const [cache, c] of Object.entries(watched()?.caches ?? {})) this.set({ cache }, c.hits + c.misses === 0 ? 0 : c.hits / (c.hits + c.misses));
    },
  });
  new Gauge({
    name: 'mcp_proxy_usage_sync_lag_seconds',
    help: 'Seconds since each background sync last succeeded (rate_limits: key counts and statuses; tool_usage: usage rows).',
    labelNames: ['sync'],
    registers: [registry],
    collect() {
      const now = Date.now();
      for (const [sync, at] of Object.entries(watched()?.syncedAt() ?? {})) this.set({ sync }, Math.max(0, (now - at) / 1000));
    },
  });
  pulled(registry, 'mcp_proxy_cache_lookups_total', 'Lookups per in-memory cache by result (hit or miss).', ['cache', 'result'], () =>
    Object.entries(watched()?.caches ?? {}).flatMap(([cache, c]): Array<[Record<string, string>, number]> => [
      [{ cache, result: 'hit' }, c.hits],
      [{ cache, result: 'miss' }, c.misses],
    ]),
  );
  pulled(registry, 'mcp_proxy_token_refreshes_total', 'Upstream token refreshes by outcome.', ['outcome'], () =>
    Object.entries(watched()?.refreshes ?? {}).map(([outcome, n]) => [{ outcome }, n]),
  );
  pulled(registry, 'mcp_proxy_rate_limit_refusals_total', 'Requests refused by a rate limit (key: per-key limit; *_address: per-address limits).', ['limit'], () =>
    Object.entries(watched()?.refusals() ?? {}).map(([limit, n]) => [{ limit }, n]),
  );
  pulled(registry, 'mcp_proxy_bcrypt_operations_total', 'bcrypt operations (compare: an API key not yet proven in this process; hash: a key minted).', ['operation'], () => {
    const b = watched()?.bcrypt;
    return b ? [[{ operation: 'compare' }, b.compares], [{ operation: 'hash' }, b.hashes]] : [];
  });

  const seriesOf = (method: string, route: string): Array<{ count: CounterSeries; time: HistogramSeries }> => {
    const key = `${method} ${route}`;
    let byClass = httpSeries.get(key);
    if (!byClass) {
      byClass = STATUS_CLASSES.map((c) => ({ count: httpCount.series(method, route, c), time: httpTime.series(method, route, c) }));
      httpSeries.set(key, byClass);
    }
    return byClass;
  };
  const record = (byClass: Array<{ count: CounterSeries; time: HistogramSeries }>, status: number, seconds: number): void => {
    const series = byClass[classOf(status)] as { count: CounterSeries; time: HistogramSeries };
    series.count.inc();
    series.time.observe(seconds);
  };

  return {
    registry,
    http(method, route, status, seconds) {
      record(seriesOf(method, route), status, seconds);
    },
    route(method, route) {
      const byClass = seriesOf(method, route);
      return (status, seconds) => record(byClass, status, seconds);
    },
    upstream(providerId, outcome, seconds) {
      let byOutcome = upstreamSeries.get(providerId);
      if (!byOutcome) {
        if (upstreamSeries.size >= MAX_PROVIDERS) return;
        upstreamSeries.set(providerId, (byOutcome = new Map()));
      }
      const label: string = typeof outcome === 'number' ? (STATUS_CLASSES[classOf(outcome)] as string) : outcome;
      let series = byOutcome.get(label);
      if (!series) byOutcome.set(label, (series = upstreamTime.series(providerId, label)));
      series.observe(seconds);
    },
    toolCall(call) {
      let byTool = toolSeries.get(call.providerId);
      if (!byTool) {
        if (toolSeries.size >= MAX_PROVIDERS) return;
        toolSeries.set(call.providerId, (byTool = new Map()));
      }
      let pair = byTool.get(call.tool);
      if (!pair) {
        const tool = byTool.size >= MAX_TOOLS_PER_PROVIDER ? 'other' : call.tool;
        pair = byTool.get(tool) ?? [toolCalls.series(call.providerId, tool, 'ok'), toolCalls.series(call.providerId, tool, 'error')];
        if (tool === call.tool || !byTool.has(tool)) byTool.set(tool, pair);
      }
      pair[call.ok ? 0 : 1].inc();
    },
    watch(s) {
      sources = s;
    },
  };
}
