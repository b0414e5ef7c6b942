/**
 * --latency-summary and --latency: per trace point, how long packets took to
 * get there from the packet's point before, as the kernel counted them
 * (bpf/life.bpf.c: count, sum, min and max per point and CPU, and
 * power-of-two microsecond buckets). This module merges the per-CPU counts
 * into one summary per point. Pure.
 * @module
 */

/** One point's latencies. */
export interface PointLatency {
  readonly point: string;
  readonly count: number;
  readonly minNs: number;
  readonly maxNs: number;
  readonly sumNs: number;
  /** buckets[i]: latencies in [2^(i-1), 2^i) µs; buckets[0]: under 1 µs */
  readonly buckets: readonly number[];
}

/** The kernel's count of one point on one CPU (struct nt_latency). */
export interface CpuLatency {
  readonly count: number;
  readonly sumNs: number;
  readonly minNs: number;
  readonly maxNs: number;
}

/** NT_LAT_SLOTS: the buckets the kernel keeps per point. */
export const LATENCY_SLOTS = 32;

/** The bucket of a latency: 0 under 1 µs, then 1 + floor(log2(µs)) (as the kernel counts it). */
export function bucketOf(ns: number): number {
  const us = Math.floor(ns / 1000);
  return us < 1 ? 0 : Math.min(1 + Math.floor(Math.log2(us)), LATENCY_SLOTS - 1);
}

/**
 * One point's summary from its per-CPU counts and its buckets (summed over the CPUs); undefined when no packet
 * came to it from a point before.
 */
export function mergeLatency(
  point: string,
  cpus: readonly CpuLatency[],
  buckets: readonly number[],
): PointLatency | undefined {
  const seen = cpus.filter((c) => c.count > 0);
  if (!seen.length) return undefined;
  let last = buckets.length - 1;
  while (last > 0 && buckets[last] === 0) last--;
  return {
    point,
    count: seen.reduce((n, c) => n + c.count, 0),
    sumNs: seen.reduce((n, c) => n + c.sumNs, 0),
    minNs: Math.min(...seen.map((c) => c.minNs)),
    maxNs: Math.max(...seen.map((c) => c.maxNs)),
    buckets: buckets.slice(0, last + 1),
  };
}

/** The slowest on average first, then by name. */
export function slowestFirst(points: readonly PointLatency[]): PointLatency[] {
  return [...points].sort((a, b) => b.sumNs / b.count - a.sumNs / a.count || a.point.localeCompare(b.point));
}
