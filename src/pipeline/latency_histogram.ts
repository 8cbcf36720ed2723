/**
 * Fixed-bucket histograms (Prometheus-style), so recording allocates nothing: the pipeline's command
 * latency as the main thread sees it (from submit, entering ring G→S, to the result coming back),
 * and the gateway's own stalls (src/gateway/runtime_metrics.ts).
 */
export const COMMAND_LATENCY_MS_BOUNDS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

export class BucketHistogram {
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;
  /** The largest value recorded (0 before any). */
  max = 0;

  /** `bounds`: the buckets' upper bounds, ascending; one more bucket holds what is above the last. */
  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  record(value: number): void {
    const bounds = this.bounds;
    let bucket = 0;
    while (bucket < bounds.length && value > bounds[bucket]!) bucket += 1;
    this.counts[bucket]! += 1;
    this.sum += value;
    this.count += 1;
    if (value > this.max) this.max = value;
  }

  snapshot(): { bounds: readonly number[]; counts: number[]; sum: number; count: number } {
    return { bounds: this.bounds, counts: Array.from(this.counts), sum: this.sum, count: this.count };
  }
}

/** Command latency in milliseconds. */
export class LatencyHistogram extends BucketHistogram {
  constructor() {
    super(COMMAND_LATENCY_MS_BOUNDS);
  }
}
