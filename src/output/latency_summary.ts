/**
 * --latency-summary's text: per point, its latencies from the point before
 * it as a histogram of power-of-two microsecond buckets, with count, min,
 * average and max. Pure.
 * @module
 */
import type { PointLatency } from "../life/latency_histogram.ts";

const BAR = 40;

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
    const top = Math.max(...p.buckets);
    const first = p.buckets.findIndex((n) => n > 0);
    for (let i = first; i < p.buckets.length; i++) {
      const n = p.buckets[i];
      const bar = "@".repeat(top ? Math.round((n / top) * BAR) : 0);
      out.push(`  ${bucketRange(i).padStart(16)} ${String(n).padStart(8)} |${bar.padEnd(BAR)}|`);
    }
  }
  return out.join("\n") + "\n";
}
