/**
 * A histogram's lines: from its first non-empty bucket to its last, each with
 * its range, count and a bar scaled to the largest bucket. Pure.
 * @module
 */

const BAR = 40;

/** The lines of buckets; range(i): the text of bucket i's range ("[2, 4)"). */
export function histogramBars(buckets: readonly number[], range: (i: number) => string): string[] {
  const top = Math.max(0, ...buckets);
  const first = buckets.findIndex((n) => n > 0);
  if (first < 0) return [];
  let last = buckets.length - 1;
  while (buckets[last] === 0) last--;
  const out: string[] = [];
  for (let i = first; i <= last; i++) {
    const n = buckets[i];
    const bar = "@".repeat(top ? Math.round((n / top) * BAR) : 0);
    out.push(`  ${range(i).padStart(16)} ${String(n).padStart(8)} |${bar.padEnd(BAR)}|`);
  }
  return out;
}
