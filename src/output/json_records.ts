/**
 * nettrace's JSON output (--json): one object per line, each with its `type`
 * and the schema version `v`. The schema is docs/nettrace.schema.json,
 * explained in docs/json.md. Pure: the same events give the same objects.
 * @module
 */
import type { PointLatency } from "../life/latency_histogram.ts";
import { type PointCalls, sortedCalls } from "./func_stats.ts";
import type { KernelEvent, NetfilterInfo } from "../event/decode.ts";
import type { Verdict } from "../event/netfilter_verdict.ts";
import { familyName, hookName } from "./netfilter_text.ts";
import { type DropReasons, reasonName } from "../event/drop_reasons.ts";
import { decodePacket, type Packet } from "../packet/decode.ts";
import { formatPacket } from "../packet/format.ts";
import { ipProtocolName } from "../packet/protocols.ts";
import { tcpFlagsText } from "../packet/tcp_flags.ts";
import type { LossKind } from "./loss_report.ts";
import { isIp, type StormRepeats } from "../event/storm.ts";
import { stormFlowText } from "./storm_line.ts";

/** The version of docs/nettrace.schema.json the objects follow. */
export const JSON_SCHEMA_VERSION = 1;

/** A decoded packet as JSON: what the text line says, field by field. */
export function packetJson(p: Packet): Record<string, unknown> {
  const text = formatPacket(p);
  if (p.kind === "arp") {
    return { kind: "arp", op: p.op, sender_ip: p.senderIp, target_ip: p.targetIp, sender_mac: p.senderMac, text };
  }
  if (p.kind === "other") return { kind: "other", ethertype: p.l3Proto, text };
  // each shape made at once (a literal, a spread): an object grown key by key is slower to stringify, and --json
  // stringifies every drop of a storm
  const ip = {
    kind: "ip",
    family: p.family,
    saddr: p.saddr,
    daddr: p.daddr,
    protocol: ipProtocolName(p.protocol),
    length: p.length,
    ttl: p.ttl,
  };
  const t = p.transport;
  let out: Record<string, unknown>;
  if (t?.type === "tcp") {
    out = { ...ip, sport: t.sport, dport: t.dport, seq: t.seq, ack: t.ack, flags: tcpFlagsText(t.flags), text };
  } else if (t?.type === "udp") {
    out = { ...ip, sport: t.sport, dport: t.dport, text };
  } else if (t) {
    out = t.echo
      ? { ...ip, icmp_type: t.icmpType, icmp_code: t.code, echo_id: t.echo.id, echo_seq: t.echo.seq, text }
      : { ...ip, icmp_type: t.icmpType, icmp_code: t.code, text };
  } else {
    out = { ...ip, text };
  }
  // rare: a later fragment, a malformed header (text stays last)
  if (p.fragment || p.problem) {
    const { text: _, ...fields } = out;
    out = { ...fields, ...(p.fragment ? { fragment: true } : {}), ...(p.problem ? { problem: p.problem } : {}), text };
  }
  return out;
}

/** A kernel timestamp on the wall clock: ISO 8601, UTC, milliseconds. */
export function isoTime(tsNs: number, wallOffsetNs: number): string {
  return new Date(Math.floor((tsNs + wallOffsetNs) / 1e6)).toISOString();
}

/** What every skb event says of its skb and where it was: a drop's and a lifecycle event's fields alike. */
export function skbEventJson(ev: KernelEvent): Record<string, unknown> {
  return {
    skb: `0x${ev.skb.toString(16)}`,
    cpu: ev.cpu,
    ifindex: ev.ifindex,
    ifname: ev.ifname,
    netns: ev.netns,
    pid: ev.pid,
    comm: ev.comm,
    packet: packetJson(decodePacket(ev.packet)),
  };
}

/** What a drop object needs besides the event. */
export interface DropJsonContext {
  /** undefined: the kernel has no drop reasons */
  reasons?: DropReasons;
  /** code address -> "func+0xoff" */
  symbolize: (addr: bigint) => string;
  /** wall-clock minus monotonic nanoseconds, for the event's wall-clock time */
  wallOffsetNs: number;
}

/** One dropped skb. stack: the kernel stack, with --drop-stack. */
export function dropJson(ev: KernelEvent, ctx: DropJsonContext, stack?: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: "drop",
    v: JSON_SCHEMA_VERSION,
    ts_ns: ev.tsNs,
    time: isoTime(ev.tsNs, ctx.wallOffsetNs),
    ...skbEventJson(ev),
    reason: ctx.reasons ? reasonName(ctx.reasons, ev.reason) : null,
    location: ctx.symbolize(ev.location),
  };
  if (ev.nf) out.netfilter = netfilterJson(ev.nf);
  return stack ? { ...out, stack } : out;
}

/** Netfilter details of an event at a netfilter function. */
export function netfilterJson(nf: NetfilterInfo, verdict?: Verdict): Record<string, unknown> {
  const out: Record<string, unknown> = { family: familyName(nf.pf), hook: hookName(nf.hook) };
  if (nf.table) out.table = nf.table;
  if (nf.chain) out.chain = nf.chain;
  if (verdict) out.verdict = verdict;
  return out;
}

/** Events the kernel could not send, new since the last report (and in all). */
export function lossJson(what: LossKind, count: number, total: number, buffer: string) {
  return { type: "loss", v: JSON_SCHEMA_VERSION, what, count, total, buffer };
}

/** Repeats of one drop the kernel summarized in one interval (--storm-limit). */
export function stormJson(r: StormRepeats, ctx: DropJsonContext): Record<string, unknown> {
  const k = r.key;
  const ip = isIp(k.l3Proto);
  return {
    type: "storm",
    v: JSON_SCHEMA_VERSION,
    ts_ns: r.tsNs,
    time: isoTime(r.tsNs, ctx.wallOffsetNs),
    netns: k.netns,
    reason: ctx.reasons ? reasonName(ctx.reasons, k.reason) : null,
    location: ctx.symbolize(k.location),
    ethertype: k.l3Proto,
    protocol: ip ? ipProtocolName(k.l4Proto) : null,
    saddr: k.saddr ?? null,
    daddr: k.daddr ?? null,
    dport: k.dport || null,
    count: r.count,
    seconds: Math.round(r.seconds * 1000) / 1000,
    text: stormFlowText(k),
  };
}

/** What a run ends with: every count of its closing line. */
export interface RunCounts {
  /** drops, packets (or, with --basic, events) shown */
  shown: number;
  /** --drop: repeats the kernel summarized */
  summarized?: number;
  lost: number;
  limited: number;
  notFollowed: number;
  /** --drop: drops lost to a full storm map */
  stormFull?: number;
  /** the lifecycle mode's socket blocks */
  socketBlocks?: number;
}

/** When counts were read from the kernel: at an --interval or at exit (func_stats, rtt). */
export interface Reading {
  /** the kernel's clock then, and its offset to the wall clock */
  readonly tsNs: number;
  readonly wallOffsetNs: number;
  /** since tracing began */
  readonly seconds: number;
  /** at exit */
  readonly final: boolean;
}

/** The head of an object of counts read from the kernel. */
export function readingJson(type: string, r: Reading): Record<string, unknown> {
  return {
    type,
    v: JSON_SCHEMA_VERSION,
    ts_ns: r.tsNs,
    time: isoTime(r.tsNs, r.wallOffsetNs),
    seconds: Math.round(r.seconds * 1000) / 1000,
    final: r.final,
  };
}

/** --func-stats: the calls per point (most first), at an interval or at exit. */
export function funcStatsJson(rows: readonly PointCalls[], reading: Reading): Record<string, unknown> {
  return {
    ...readingJson("func_stats", reading),
    calls: sortedCalls(rows).map((r) => ({ point: r.point, calls: r.calls, recent: r.recent })),
  };
}

/** --latency-summary: per point, its latencies from the point before (power-of-two µs buckets). */
export function latencySummaryJson(points: readonly PointLatency[], packets: number): Record<string, unknown> {
  return {
    type: "latency_summary",
    v: JSON_SCHEMA_VERSION,
    packets,
    points: points.map((p) => ({
      point: p.point,
      count: p.count,
      min_ns: p.minNs,
      avg_ns: Math.round(p.sumNs / p.count),
      max_ns: p.maxNs,
      buckets: p.buckets.map((n, i) => ({ from_us: i === 0 ? 0 : 2 ** (i - 1), to_us: 2 ** i, count: n }))
        .filter((b) => b.count > 0),
    })),
  };
}

/** The closing summary of a run. */
export function summaryJson(c: RunCounts): Record<string, unknown> {
  const out: Record<string, unknown> = { type: "summary", v: JSON_SCHEMA_VERSION, shown: c.shown };
  if (c.summarized !== undefined) out.summarized = c.summarized;
  if (c.socketBlocks !== undefined) out.socket_blocks = c.socketBlocks;
  Object.assign(out, { lost: c.lost, limited: c.limited, not_followed: c.notFollowed });
  if (c.stormFull !== undefined) out.storm_full = c.stormFull;
  return out;
}
