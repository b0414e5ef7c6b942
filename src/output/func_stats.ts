/**
 * --func-stats: calls per traced point, counted in the kernel, as a table
 * sorted by calls (most first), with the calls since the last table beside
 * the total when the table is printed every --interval. Pure.
 * @module
 */
import { groupedCount } from "./grouped_count.ts";

/** One point's count. */
export interface PointCalls {
  readonly point: string;
  /** calls since tracing began */
  readonly calls: number;
  /** calls since the previous table (the first table: since tracing began) */
  readonly recent: number;
}

/** Points with at least one call, most called first (ties by name). */
export function sortedCalls(rows: readonly PointCalls[]): PointCalls[] {
  return rows.filter((r) => r.calls > 0).sort((a, b) => b.calls - a.calls || a.point.localeCompare(b.point));
}

/** The table's text: a header line, then "     calls  +recent  point" per point that was called. */
export function formatFuncStats(rows: readonly PointCalls[], seconds: number, interval: boolean): string {
  const called = sortedCalls(rows);
  const head = `function calls in ${seconds.toFixed(1)} s (${called.length} of ${rows.length} points called)` +
    (interval ? ", with the calls since the last table" : "");
  const width = Math.max(5, ...called.map((r) => groupedCount(r.calls).length));
  const lines = called.map((r) =>
    `  ${groupedCount(r.calls).padStart(width)}` +
    (interval ? `  ${("+" + groupedCount(r.recent)).padStart(width + 1)}` : "") + `  ${r.point}`
  );
  return [head, ...lines].join("\n");
}
