/**
 * What --monitor --metrics serves: its counts as Prometheus families. Drops
 * by reason, location (the function), device and netns, counted in the
 * kernel (every drop, shown or not); the socket events the rules flagged, by
 * point and finding, and the TCP resets and retransmission timeouts among
 * them; netfilter's drops by family, hook, table and chain, where the
 * kernel can trace its table walks; nettrace's own counts (events seen and lost per part, lines shown,
 * repeats held back). Label cardinality is bounded (prometheus.ts). Pure:
 * the counts are read by the caller.
 * @module
 */
import { boundedSamples, histogramSamples, type MetricFamily, OTHER } from "./prometheus.ts";

/** Series kept per family before the rest goes into "other". */
export const MAX_DROP_SERIES = 200;
export const MAX_FINDING_SERIES = 100;
export const MAX_NETFILTER_SERIES = 100;

/** Netfilter's drops at one place; table undefined: the drops the kernel's bounded map could not tell apart. */
export interface NamedNetfilterCount {
  readonly family?: string;
  readonly hook?: string;
  readonly table?: string;
  /** "" for x_tables, which has no chain names */
  readonly chain?: string;
  readonly count: number;
}

/** One drop key's count, named. location undefined: the drops the kernel's bounded map could not tell apart. */
export interface NamedDropCount {
  readonly reason?: string;
  readonly location?: string;
  readonly ifindex: number;
  readonly netns: number;
  readonly count: number;
}

/** A socket finding's count: the point, the finding's level and message. */
export interface FindingCount {
  readonly point: string;
  readonly level: string;
  readonly message: string;
  readonly count: number;
}

/** A part's own counts (the drop program, the socket points). */
export interface PartCounts {
  readonly part: "drops" | "sockets";
  readonly seen: number;
  readonly lost: number;
  readonly shown: number;
  /** drops: repeats counted in the kernel; sockets: held back in user space */
  readonly summarized: number;
}

/** TCP RTT samples, counted in the kernel: slots[i] holds the samples of [2^i, 2^(i+1)) microseconds. */
export interface RttHistogram {
  readonly count: number;
  readonly sumUs: number;
  readonly slots: readonly number[];
}

/** The RTT buckets served: up to 2^25 µs (33.5 s); slower samples are counted in +Inf only. */
export const RTT_BUCKETS = 25;

export interface MonitorCounts {
  readonly drops: readonly NamedDropCount[];
  /** netfilter's drops by place, where its table walks are traced */
  readonly netfilterDrops?: readonly NamedNetfilterCount[];
  /** the RTT samples, where RTT points are traced */
  readonly rtt?: RttHistogram;
  readonly findings: readonly FindingCount[];
  readonly parts: readonly PartCounts[];
  /** the wall clock when tracing began, in seconds */
  readonly startSeconds: number;
}

/** nettrace's own counts, one family each, a series per part. */
const PART_FAMILIES: Array<[string, string, (p: PartCounts) => number]> = [
  ["nettrace_events_seen_total", "Events the kernel programs saw (past the filters)", (p) => p.seen],
  ["nettrace_events_lost_total", "Events the kernel could not send (the buffer was full)", (p) => p.lost],
  ["nettrace_events_shown_total", "Events nettrace printed", (p) => p.shown],
  [
    "nettrace_events_summarized_total",
    "Repeats counted instead of printed (drops in the kernel, socket findings in nettrace)",
    (p) => p.summarized,
  ],
];

const RESET_POINTS: Record<string, string> = { tcp_send_active_reset: "sent", tcp_receive_reset: "received" };

function sum(xs: readonly FindingCount[], keep: (f: FindingCount) => boolean): number {
  return xs.filter(keep).reduce((n, f) => n + f.count, 0);
}

/** The families /metrics shows. */
export function monitorFamilies(c: MonitorCounts): MetricFamily[] {
  const drops = boundedSamples(
    c.drops.map((d) => ({
      labels: d.location === undefined
        ? { reason: OTHER, location: OTHER, ifindex: OTHER, netns: OTHER }
        : { reason: d.reason ?? "", location: d.location, ifindex: String(d.ifindex), netns: String(d.netns) },
      value: d.count,
    })),
    MAX_DROP_SERIES,
  );
  const findings = boundedSamples(
    c.findings.map((f) => ({ labels: { point: f.point, level: f.level, finding: f.message }, value: f.count })),
    MAX_FINDING_SERIES,
  );
  return [
    {
      name: "nettrace_drops_total",
      help: "Packets the kernel dropped, by drop reason (empty before 5.17), function, ifindex and netns inode",
      type: "counter",
      samples: drops,
    },
    ...(c.netfilterDrops ? [netfilterFamily(c.netfilterDrops)] : []),
    {
      name: "nettrace_socket_findings_total",
      help: "Socket events the rules flagged (WARN or ERROR), by point, level and finding",
      type: "counter",
      samples: findings,
    },
    {
      name: "nettrace_tcp_resets_total",
      help: "TCP resets a socket sent (its own abort) or received from its peer",
      type: "counter",
      samples: Object.entries(RESET_POINTS).map(([point, direction]) => ({
        labels: { direction },
        value: sum(c.findings, (f) => f.point === point),
      })),
    },
    {
      name: "nettrace_tcp_retransmission_timeouts_total",
      help: "TCP retransmission timers that fired (tcp_retransmit_timer, where functions can be traced)",
      type: "counter",
      samples: [{ labels: {}, value: sum(c.findings, (f) => f.point === "tcp_retransmit_timer") }],
    },
    ...(c.rtt ? [rttFamily(c.rtt)] : []),
    ...PART_FAMILIES.map(([name, help, get]): MetricFamily => ({
      name,
      help,
      type: "counter",
      samples: c.parts.map((p) => ({ labels: { part: p.part }, value: get(p) })),
    })),
    {
      name: "nettrace_start_time_seconds",
      help: "When nettrace began tracing, in seconds since the epoch",
      type: "gauge",
      samples: [{ labels: {}, value: c.startSeconds }],
    },
  ];
}

/** Netfilter's drops by family, hook, table and chain (nf_tables' base chain; "" for x_tables). */
function netfilterFamily(counts: readonly NamedNetfilterCount[]): MetricFamily {
  return {
    name: "nettrace_netfilter_drops_total",
    help: "Packets netfilter dropped, by family, hook, table and chain (nf_tables' base chain, empty for iptables)",
    type: "counter",
    samples: boundedSamples(
      counts.map((n) => ({
        labels: n.table === undefined
          ? { family: OTHER, hook: OTHER, table: OTHER, chain: OTHER }
          : { family: n.family ?? "", hook: n.hook ?? "", table: n.table, chain: n.chain ?? "" },
        value: n.count,
      })),
      MAX_NETFILTER_SERIES,
    ),
  };
}

/** The RTT histogram: a slot's integer microseconds end at 2^(i+1) - 1, its bucket's upper bound (in seconds). */
function rttFamily(h: RttHistogram): MetricFamily {
  const buckets = Array.from(
    { length: RTT_BUCKETS },
    (_, i) => ({ le: (2 ** (i + 1) - 1) / 1e6, count: h.slots[i] ?? 0 }),
  );
  return {
    name: "nettrace_tcp_rtt_seconds",
    help: "TCP round-trip time samples (the RTT of each newly acknowledged segment) of every connection",
    type: "histogram",
    samples: histogramSamples(buckets, h.sumUs / 1e6, h.count),
  };
}
