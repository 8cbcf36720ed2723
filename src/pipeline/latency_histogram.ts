/**
 * Command latency as the main thread sees it: from submit (entering ring G→S) to the result coming
 * back. Fixed buckets (Prometheus-style) so recording allocates nothing.
 */
export const COMMAND_LATENCY_MS_BOUNDS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

export class LatencyHistogram {
  private readonly counts = new Float64Array(COMMAND_LATENCY_MS_BOUNDS.length + 1);
  private sum = 0;
  private count = 0;

  record(latencyMs: number): void {
    let bucket = 0;
    while (bucket < COMMAND_LATENCY_MS_BOUNDS.length && latencyMs > COMMAND_LATENCY_MS_BOUNDS[bucket]!) bucket += 1;
    this.counts[bucket]! += 1;
    this.sum += latencyMs;
    this.count += 1;
  }

  snapshot(): { bounds: readonly number[]; counts: number[]; sum: number; count: number } {
    return { bounds: COMMAND_LATENCY_MS_BOUNDS, counts: Array.from(this.counts), sum: this.sum, count: this.count };
  }
}
