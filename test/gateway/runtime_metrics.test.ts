import { describe, expect, it } from 'vitest';
import { EVENT_LOOP_PROBE_INTERVAL_MS, RuntimeMetrics, STALL_MS_BOUNDS } from '../../src/gateway/runtime_metrics.ts';

describe('RuntimeMetrics', () => {
  it('records how long the event loop was blocked, in the bucket of the stall', async () => {
    const runtime = new RuntimeMetrics();
    runtime.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, EVENT_LOOP_PROBE_INTERVAL_MS * 3));
      // Block the main thread for ~120 ms: the probe due meanwhile runs that much late.
      const until = performance.now() + 120;
      while (performance.now() < until) {
        // busy
      }
      await new Promise((resolve) => setTimeout(resolve, EVENT_LOOP_PROBE_INTERVAL_MS * 3));
      const delay = runtime.eventLoopDelayMs.snapshot();
      expect(delay.count).toBeGreaterThan(2);
      expect(runtime.eventLoopDelayMs.max).toBeGreaterThanOrEqual(100);
      const over100 = delay.counts.slice(STALL_MS_BOUNDS.indexOf(100) + 1).reduce((sum, count) => sum + count, 0);
      expect(over100).toBeGreaterThanOrEqual(1);
    } finally {
      runtime.stop();
    }
  });
});
