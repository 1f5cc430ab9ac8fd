/** Times `count` sequential runs of an operation: throughput and latency percentiles. */
export interface Timing {
  opsPerSecond: number;
  /** Milliseconds. */
  p50: number;
  /** Milliseconds. */
  p95: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

export async function time(count: number, run: (i: number) => Promise<unknown>): Promise<Timing> {
  const times: number[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await run(i);
    times.push(performance.now() - t);
  }
  const total = performance.now() - started;
  times.sort((a, b) => a - b);
  return { opsPerSecond: (count / total) * 1000, p50: percentile(times, 50), p95: percentile(times, 95) };
}
