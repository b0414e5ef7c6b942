/**
 * --latency-summary: per trace point, how long packets took to get there
 * from the point before it in their block (the kernel's timestamps),
 * gathered over the run into power-of-two microsecond buckets.
 * @module
 */
import type { LifeBlock } from "./context_tracker.ts";
import type { LatencyChoice } from "./block_latency.ts";

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

/** The bucket of a latency: 0 under 1 µs, then 1 + floor(log2(µs)). */
export function bucketOf(ns: number): number {
  const us = ns / 1000;
  return us < 1 ? 0 : 1 + Math.floor(Math.log2(us));
}

/** Latencies per point, fed block by block. */
export class LatencyHistograms {
  readonly #points = new Map<
    string,
    { count: number; minNs: number; maxNs: number; sumNs: number; buckets: number[] }
  >();

  constructor(readonly choice: LatencyChoice, readonly pointName: (point: number) => string) {}

  /** Adds each event's latency from the event before it in its block (the first has none). */
  add(b: LifeBlock): void {
    for (let i = 1; i < b.events.length; i++) {
      const e = b.events[i];
      if (!this.choice.includeFree && this.choice.isFree(e)) continue;
      const ns = e.tsNs - b.events[i - 1].tsNs;
      const name = this.pointName(e.point);
      let p = this.#points.get(name);
      if (!p) this.#points.set(name, p = { count: 0, minNs: ns, maxNs: ns, sumNs: 0, buckets: [] });
      p.count++;
      p.minNs = Math.min(p.minNs, ns);
      p.maxNs = Math.max(p.maxNs, ns);
      p.sumNs += ns;
      const k = bucketOf(ns);
      while (p.buckets.length <= k) p.buckets.push(0);
      p.buckets[k]++;
    }
  }

  /** Every point seen, the slowest on average first. */
  points(): PointLatency[] {
    return [...this.#points].map(([point, p]) => ({ point, ...p, buckets: [...p.buckets] }))
      .sort((a, b) => b.sumNs / b.count - a.sumNs / a.count || a.point.localeCompare(b.point));
  }
}
