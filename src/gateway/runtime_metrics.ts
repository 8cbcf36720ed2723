/**
 * The main thread's own stalls, for /metrics: how late the event loop runs a timer (everything on
 * this thread waits that long: HTTP parsing, the pipeline's result consumer, replies) and how long
 * the garbage collector pauses it. The pipeline's command latency says how long a command took;
 * these say whether the time went to the main thread being blocked (a long batch, a GC pause, the
 * thread not getting a CPU) rather than to the stages or the fsync.
 *
 * The loop delay is sampled by a 10 ms interval timer (what a request arriving at a random moment
 * waits for at most the delay measured around it), as fixed buckets like the pipeline's histograms,
 * so a scraper can subtract two scrapes. GC pauses come from the `gc` performance entries. Both cost
 * a few callbacks per second; the timer is unref'd and never keeps the process alive.
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { BucketHistogram } from '../pipeline/latency_histogram.ts';

/** Upper bounds of the buckets, in milliseconds. */
export const STALL_MS_BOUNDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000];
/** How often the event loop is asked to run the probe timer. */
export const EVENT_LOOP_PROBE_INTERVAL_MS = 10;

export class RuntimeMetrics {
  /** How much later than due the probe timer ran, per run (0 when on time). */
  readonly eventLoopDelayMs = new BucketHistogram(STALL_MS_BOUNDS);
  readonly gcPauseMs = new BucketHistogram(STALL_MS_BOUNDS);
  private timer: NodeJS.Timeout | undefined;
  private observer: PerformanceObserver | undefined;
  private dueAt = 0;

  start(): void {
    if (this.timer !== undefined) return;
    this.dueAt = performance.now() + EVENT_LOOP_PROBE_INTERVAL_MS;
    this.timer = setInterval(() => this.probe(), EVENT_LOOP_PROBE_INTERVAL_MS);
    this.timer.unref();
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) this.gcPauseMs.record(entry.duration);
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.observer?.disconnect();
    this.timer = undefined;
    this.observer = undefined;
  }

  private probe(): void {
    const now = performance.now();
    this.eventLoopDelayMs.record(Math.max(0, now - this.dueAt));
    // The next run is due one interval after this one (setInterval reschedules from the run).
    this.dueAt = now + EVENT_LOOP_PROBE_INTERVAL_MS;
  }
}
