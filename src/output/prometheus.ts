/**
 * The Prometheus text exposition format (version 0.0.4), as /metrics serves
 * it: one family per metric name with its HELP and TYPE lines, then its
 * samples. Label values come from the kernel and the network (drop reasons,
 * function names, finding messages): they are escaped as the format says
 * (backslash, double quote, newline), and other control characters become
 * spaces, so that a strange name never breaks a scrape. A family keeps at most `maxSeries` series: the largest
 * ones, and the rest added into one series whose labels say `other`, so that
 * a storm of distinct keys cannot blow up the series count. Pure.
 * @module
 */

/** A metric family's kind. */
export type MetricType = "counter" | "gauge" | "histogram";

/** One sample: its labels and value (a histogram's: its _bucket, _sum or _count). */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly suffix?: "_bucket" | "_sum" | "_count";
}

/** A metric family: its name (snake_case, with its unit and _total for counters), help, type and samples. */
export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly samples: readonly Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label value as the format wants it: \\, \" and \n escaped, other control characters replaced by a space. */
export function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`))
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, " ");
}

/** HELP text: backslash and newline escaped. */
function escapeHelp(v: string): string {
  return v.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function formatLabels(labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels);
  if (!keys.length) return "";
  return `{${keys.map((k) => `${k}="${escapeLabelValue(labels[k])}"`).join(",")}}`;
}

/** The families as the text the scrape gets (ends with a newline). */
export function formatExposition(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    if (!NAME.test(f.name)) throw new Error(`metric name '${f.name}' is not valid`);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      for (const k of Object.keys(s.labels)) {
        if (!LABEL.test(k) || k.startsWith("__")) throw new Error(`label name '${k}' of ${f.name} is not valid`);
      }
      if (s.suffix && f.type !== "histogram") throw new Error(`${f.name}${s.suffix} in a ${f.type}`);
      out.push(`${f.name}${s.suffix ?? ""}${formatLabels(s.labels)} ${formatValue(s.value)}`);
    }
  }
  return out.join("\n") + "\n";
}

/** The value every label of the series that holds what the bound left out takes. */
export const OTHER = "other";

/**
 * Counters keyed by their labels, bounded: the `maxSeries - 1` largest keep their labels, the others are added into
 * one series whose labels are all `other`. Counts only grow (they are totals since start), so a series that once was
 * shown may move into `other` later: the sum over the family stays the total.
 */
export function boundedSamples(
  counts: ReadonlyArray<{ labels: Record<string, string>; value: number }>,
  maxSeries: number,
): Sample[] {
  if (counts.length <= maxSeries) return counts.map((c) => ({ labels: c.labels, value: c.value }));
  const sorted = [...counts].sort((a, b) => b.value - a.value);
  const kept = sorted.slice(0, maxSeries - 1);
  const rest = sorted.slice(maxSeries - 1);
  const otherLabels = Object.fromEntries(Object.keys(rest[0].labels).map((k) => [k, OTHER]));
  return [
    ...kept.map((c) => ({ labels: c.labels, value: c.value })),
    { labels: otherLabels, value: rest.reduce((n, c) => n + c.value, 0) },
  ];
}

/**
 * A histogram's samples: buckets (each with its upper bound and the count of observations in it, not cumulative) in
 * ascending order, the sum of the observations and their count. The buckets become cumulative `le` series, ending
 * with +Inf (the count).
 */
export function histogramSamples(
  buckets: ReadonlyArray<{ le: number; count: number }>,
  sum: number,
  count: number,
): Sample[] {
  let cumulative = 0;
  const out: Sample[] = buckets.map((b) => {
    cumulative += b.count;
    return { labels: { le: String(b.le) }, value: cumulative, suffix: "_bucket" };
  });
  out.push({ labels: { le: "+Inf" }, value: count, suffix: "_bucket" });
  out.push({ labels: {}, value: sum, suffix: "_sum" }, { labels: {}, value: count, suffix: "_count" });
  return out;
}
