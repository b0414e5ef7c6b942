/**
 * --latency-summary's text: per point, its latencies from the point before
 * it as a histogram of power-of-two microsecond buckets, with count, min,
 * average and max. Pure.
 * @module
 */
import type { PointLatency } from "../life/latency_histogram.ts";
import { histogramBars } from "./histogram_bars.ts";

function us(ns: number): string {
  return (ns / 1000).toFixed(ns < 10_000 ? 1 : 0);
}

/** The bucket's range: "[0, 1)", "[1, 2)", "[2, 4)" ... in µs. */
export function bucketRange(i: number): string {
  return i === 0 ? "[0, 1)" : `[${2 ** (i - 1)}, ${2 ** i})`;
}

/** The whole summary; packets: blocks counted. */
export function formatLatencySummary(points: readonly PointLatency[], packets: number): string {
  const out = [`latency from the point before, per point, in µs (${packets} packets)`];
  for (const p of points) {
    out.push(
      "",
      `${p.point}: ${p.count} times, min ${us(p.minNs)}, avg ${us(p.sumNs / p.count)}, max ${us(p.maxNs)}`,
    );
    out.push(...histogramBars(p.buckets, bucketRange));
  }
  return out.join("\n") + "\n";
}
