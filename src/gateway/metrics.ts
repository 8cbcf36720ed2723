/**
 * GET /metrics in the Prometheus text exposition format (version 0.0.4), rendered at scrape time
 * from the pipeline's counters, the read models and the process. The pipeline already keeps its
 * histograms as bucket counts, so they are written out directly rather than re-observed through a
 * client library: the numbers are exactly the pipeline's.
 */
import type { PipelineCounters, PipelineHandle } from '../pipeline/pipeline_handle.ts';
import type { ReadModels } from './read_models.ts';
import type { RuntimeMetrics } from './runtime_metrics.ts';
import { EVENT_LOOP_PROBE_INTERVAL_MS } from './runtime_metrics.ts';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Histogram = PipelineCounters['recordsPerFsync'];

class MetricsText {
  private readonly lines: string[] = [];

  header(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }

  sample(name: string, value: number, labels: Readonly<Record<string, string>> = {}): void {
    const pairs = Object.entries(labels).map(([key, label]) => `${key}="${escapeLabel(label)}"`);
    const labelText = pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
    this.lines.push(`${name}${labelText} ${formatValue(value)}`);
  }

  histogram(name: string, help: string, histogram: Readonly<Histogram>): void {
    this.header(name, 'histogram', help);
    let cumulative = 0;
    histogram.bounds.forEach((bound, index) => {
      cumulative += histogram.counts[index] ?? 0;
      this.sample(`${name}_bucket`, cumulative, { le: formatValue(bound) });
    });
    this.sample(`${name}_bucket`, histogram.count, { le: '+Inf' });
    this.sample(`${name}_sum`, histogram.sum);
    this.sample(`${name}_count`, histogram.count);
  }

  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** The main thread's stall histograms (event-loop delay, GC pauses). */
function writeRuntimeMetrics(text: MetricsText, runtime: RuntimeMetrics): void {
  text.histogram(
    'exchange_event_loop_delay_ms',
    `How late the main thread ran a ${EVENT_LOOP_PROBE_INTERVAL_MS} ms probe timer, in milliseconds (HTTP and results wait as long).`,
    runtime.eventLoopDelayMs.snapshot(),
  );
  text.header('exchange_event_loop_delay_max_ms', 'gauge', 'Longest event-loop delay seen since start, in milliseconds.');
  text.sample('exchange_event_loop_delay_max_ms', runtime.eventLoopDelayMs.max);
  text.histogram('exchange_gc_pause_ms', 'Garbage-collection pauses of the main thread, in milliseconds.', runtime.gcPauseMs.snapshot());
  text.header('exchange_gc_pause_max_ms', 'gauge', 'Longest garbage-collection pause seen since start, in milliseconds.');
  text.sample('exchange_gc_pause_max_ms', runtime.gcPauseMs.max);
}

/** Only the runtime part of /metrics: what the benchmark's no-op server exposes, for comparison. */
export function renderRuntimeMetrics(runtime: RuntimeMetrics): string {
  const text = new MetricsText();
  writeRuntimeMetrics(text, runtime);
  return text.toString();
}

export function renderMetrics(pipeline: PipelineHandle, readModels: ReadModels, runtime?: RuntimeMetrics): string {
  const counters = pipeline.counters();
  const text = new MetricsText();
  text.header('exchange_commands_accepted_total', 'counter', 'Commands sequenced and made durable, by type.');
  for (const [type, value] of Object.entries(counters.acceptedByType)) text.sample('exchange_commands_accepted_total', value, { type });
  text.header('exchange_commands_rejected_total', 'counter', 'Commands refused by the pre-check before the log, by type.');
  for (const [type, value] of Object.entries(counters.rejectedByType)) text.sample('exchange_commands_rejected_total', value, { type });
  text.header('exchange_wal_fsyncs_total', 'counter', 'WAL fsyncs (group commits).');
  text.sample('exchange_wal_fsyncs_total', counters.walFsyncs);
  text.header('exchange_wal_records_total', 'counter', 'WAL records written.');
  text.sample('exchange_wal_records_total', counters.walRecords);
  text.histogram('exchange_wal_records_per_fsync', 'Records made durable by one fsync.', counters.recordsPerFsync);
  text.histogram('exchange_wal_fsync_latency_ms', 'Duration of one WAL fsync in milliseconds.', counters.fsyncLatencyMs);
  text.histogram('exchange_command_latency_ms', 'From submit to the result reaching the gateway, in milliseconds.', counters.commandLatencyMs);
  text.header('exchange_ring_occupancy', 'gauge', 'Messages waiting in each inter-thread ring.');
  for (const [ring, value] of Object.entries(counters.ringOccupancy)) text.sample('exchange_ring_occupancy', value.size, { ring });
  text.header('exchange_ring_capacity', 'gauge', 'Capacity of each inter-thread ring.');
  for (const [ring, value] of Object.entries(counters.ringOccupancy)) text.sample('exchange_ring_capacity', value.capacity, { ring });
  text.header('exchange_seq', 'gauge', 'Highest seq whose results reached the gateway.');
  text.sample('exchange_seq', pipeline.lastSeq);
  text.header('exchange_durable_seq', 'gauge', 'Highest seq on stable storage.');
  text.sample('exchange_durable_seq', pipeline.durableSeq);
  text.header('exchange_open_orders', 'gauge', 'Open orders in the read model.');
  text.sample('exchange_open_orders', readModels.openOrderCount);
  text.header('exchange_closed_orders_retained', 'gauge', 'Closed orders kept for GET /orders/{id}.');
  text.sample('exchange_closed_orders_retained', readModels.closedOrderCount);
  text.header('exchange_accounts', 'gauge', 'Accounts with a balance.');
  text.sample('exchange_accounts', readModels.accountCount);
  if (runtime !== undefined) writeRuntimeMetrics(text, runtime);
  const memory = process.memoryUsage();
  text.header('process_resident_memory_bytes', 'gauge', 'Resident set size in bytes.');
  text.sample('process_resident_memory_bytes', memory.rss);
  text.header('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use, in bytes.');
  text.sample('nodejs_heap_used_bytes', memory.heapUsed);
  text.header('process_uptime_seconds', 'gauge', 'Seconds since the process started.');
  text.sample('process_uptime_seconds', Math.floor(process.uptime()));
  return text.toString();
}
