/**
 * --rtt's text and JSON: per TCP connection, its RTT samples as a histogram
 * of power-of-two microsecond buckets, with count, min, average, max, and
 * the smoothed and minimum RTT as of the last sample. Pure.
 * @module
 */
import { type RttConnection, rttSlotRange } from "../event/rtt_conn.ts";
import { histogramBars } from "./histogram_bars.ts";
import { formatEndpoint } from "./socket_line.ts";
import { type Reading, readingJson } from "./json_records.ts";

/** Connections printed in text, the most sampled first; --json lists them all. */
export const RTT_TEXT_MAX = 100;

/** A connection as "10.0.0.1:40000 -> 10.0.0.2:443". */
export function rttConnectionName(c: RttConnection): string {
  return `${formatEndpoint(c.family, c.saddr, c.sport)} -> ${formatEndpoint(c.family, c.daddr, c.dport)}`;
}

/** "1 connection", "2 connections". */
export function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

function slotText(i: number): string {
  const [lo, hi] = rttSlotRange(i);
  return hi === Infinity ? `[${lo}, ...)` : `[${lo}, ${hi})`;
}

/** Most samples first, then by name: the order of both outputs. */
export function sortedConnections(conns: readonly RttConnection[]): RttConnection[] {
  return [...conns].sort((a, b) => b.samples - a.samples || rttConnectionName(a).localeCompare(rttConnectionName(b)));
}

/** The histograms; seconds: since tracing began; final: at exit (else an --interval's). */
export function formatRttHistograms(conns: readonly RttConnection[], seconds: number, final: boolean): string {
  const sorted = sortedConnections(conns).filter((c) => c.samples > 0);
  const total = sorted.reduce((n, c) => n + c.samples, 0);
  const out = [
    `RTT per TCP connection, in µs${final ? "" : ` (after ${seconds.toFixed(1)} s)`}: ` +
    `${total} samples, ${plural(sorted.length, "connection")}`,
  ];
  for (const c of sorted.slice(0, RTT_TEXT_MAX)) {
    out.push(
      "",
      `TCP ${rttConnectionName(c)}: ${c.samples} samples, min ${c.minUs}, avg ${Math.round(c.sumUs / c.samples)}, ` +
        `max ${c.maxUs}; srtt ${c.srttUs}, min_rtt ${c.minRttUs}`,
      ...histogramBars(c.slots, slotText),
    );
  }
  if (sorted.length > RTT_TEXT_MAX) {
    out.push("", `... and ${sorted.length - RTT_TEXT_MAX} connections with fewer samples (--json lists them all)`);
  }
  return out.join("\n") + "\n";
}

/** The histograms as one JSON object (type "rtt"). */
export function rttJson(conns: readonly RttConnection[], reading: Reading): Record<string, unknown> {
  return {
    ...readingJson("rtt", reading),
    connections: sortedConnections(conns).filter((c) => c.samples > 0).map((c) => ({
      family: c.family,
      saddr: c.saddr,
      sport: c.sport,
      daddr: c.daddr,
      dport: c.dport,
      samples: c.samples,
      min_us: c.minUs,
      avg_us: Math.round(c.sumUs / c.samples),
      max_us: c.maxUs,
      srtt_us: c.srttUs,
      min_rtt_us: c.minRttUs,
      buckets: c.slots.flatMap((n, i) => {
        if (!n) return [];
        const [lo, hi] = rttSlotRange(i);
        return [hi === Infinity ? { from_us: lo, count: n } : { from_us: lo, to_us: hi, count: n }];
      }),
    })),
  };
}
