/**
 * The lifecycle mode's --json objects (docs/json.md): a packet block, a
 * socket block, each with its events and --diag's analysis; with --basic
 * one object per event. Pure.
 * @module
 */
import { blockLatencies, type LatencyChoice } from "../life/block_latency.ts";
import type { KernelEvent, SocketEvent } from "../event/decode.ts";
import type { PacketReport } from "../diag/packet_report.ts";
import type { FindingReport } from "../diag/finding_report.ts";
import type { LifeBlock } from "../life/context_tracker.ts";
import type { SocketBlock } from "../life/socket_tracker.ts";
import { blockVerdicts, type Verdict, verdictOf } from "../event/netfilter_verdict.ts";
import { TCP_CA_STATES, TCP_STATES } from "../packet/tcp_states.ts";
import { ipProtocolName } from "../packet/protocols.ts";
import { isoTime, JSON_SCHEMA_VERSION, netfilterJson, skbEventJson } from "./json_records.ts";
import { formatSocket, type SocketLineContext } from "./socket_line.ts";
import type { DropCause } from "./life_line.ts";

/** What the objects need besides the events. */
export interface LifeJsonContext {
  pointName: (point: number) => string;
  /** wall-clock minus monotonic nanoseconds */
  wallOffsetNs: number;
  /** a free's drop reason and location, undefined for other events */
  dropCause?: (ev: KernelEvent) => DropCause | undefined;
  /** whether an event is a free with a drop reason */
  freedWithDropReason?: (ev: KernelEvent) => boolean;
  stack?: (id: number) => string[];
  /** --latency-show: each point's time since its packet's first point */
  latency?: LatencyChoice;
  /** for socket events' text and reset reasons */
  socket: Pick<SocketLineContext, "hz" | "resetReason" | "value">;
}

/** A return value as a signed decimal string: pointers do not fit a JSON number. */
function retText(v: bigint): string {
  return BigInt.asIntN(64, v).toString();
}

/** One event of a packet. messages: what --diag found at it. */
export function lifeEventJson(
  ev: KernelEvent,
  ctx: LifeJsonContext,
  verdict: Verdict | undefined = verdictOf(ctx.pointName(ev.point), ev.ret),
  messages: readonly string[] = [],
  latencyNs?: number,
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ts_ns: ev.tsNs,
    time: isoTime(ev.tsNs, ctx.wallOffsetNs),
    point: ctx.pointName(ev.point),
    ...skbEventJson(ev),
  };
  if (ev.ret !== undefined) out.ret = retText(ev.ret);
  if (latencyNs !== undefined) out.latency_ns = latencyNs;
  if (ev.nf) out.netfilter = netfilterJson(ev.nf, verdict);
  const cause = ctx.dropCause?.(ev);
  if (cause?.reason) out.reason = cause.reason;
  if (cause?.location) out.location = cause.location;
  if (messages.length) out.findings = [...messages];
  if (ev.stackId >= 0 && ctx.stack) out.stack = ctx.stack(ev.stackId);
  return out;
}

/** --diag's ANALYSIS RESULT as data. */
export function analysisJson(findings: readonly FindingReport[], notes: readonly string[]): Record<string, unknown> {
  return {
    findings: findings.map((r) => {
      const f: Record<string, unknown> = {
        level: r.finding.level,
        point: r.finding.point,
        group: r.finding.group,
        message: r.finding.message,
      };
      if (r.location) f.location = r.location;
      if (r.reason) f.reason = r.reason.name;
      if (r.reason?.meaning) f.reason_meaning = r.reason.meaning;
      if (r.resetReason) f.reset_reason = r.resetReason;
      if (r.advice) f.advice = r.advice;
      if (r.hooks?.length) f.hooks = r.hooks;
      return f;
    }),
    notes: [...notes],
  };
}

/** A packet's block: its skbs, its events in order, and what --diag made of it. */
export function packetBlockJson(b: LifeBlock, ctx: LifeJsonContext, report?: PacketReport): Record<string, unknown> {
  const verdicts = blockVerdicts(b.events, ctx.pointName, ctx.freedWithDropReason ?? (() => false));
  const latencies = ctx.latency ? blockLatencies(b, ctx.latency) : [];
  const out: Record<string, unknown> = {
    type: "packet",
    v: JSON_SCHEMA_VERSION,
    skbs: b.skbs.map((s) => `0x${s.toString(16)}`),
    complete: b.complete,
    events: b.events.map((e, i) => lifeEventJson(e, ctx, verdicts[i], report?.messages[i], latencies[i])),
  };
  if (report?.abnormal) out.analysis = analysisJson(report.findings, report.notes);
  return out;
}

/** One event of a socket. */
export function socketEventJson(
  ev: SocketEvent,
  ctx: LifeJsonContext,
  messages: readonly string[] = [],
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ts_ns: ev.tsNs,
    time: isoTime(ev.tsNs, ctx.wallOffsetNs),
    point: ctx.pointName(ev.point),
    cpu: ev.cpu,
    netns: ev.netns,
    pid: ev.pid,
    comm: ev.comm,
    family: ev.family,
    saddr: ev.saddr,
    sport: ev.sport,
    daddr: ev.daddr,
    dport: ev.dport,
    state: TCP_STATES[ev.state] || String(ev.state),
    ca_state: TCP_CA_STATES[ev.caState] ?? String(ev.caState),
    retransmits: ev.retransmits,
    packets_out: ev.packetsOut,
    retrans_out: ev.retransOut,
    total_retrans: ev.totalRetrans,
    cwnd: ev.sndCwnd,
    srtt_us: ev.srttUs,
    text: formatSocket(ev, ctx.socket),
  };
  if (ev.newCaState !== undefined) out.new_ca_state = TCP_CA_STATES[ev.newCaState] ?? String(ev.newCaState);
  out.protocol = ipProtocolName(ev.protocol);
  if (ev.rttUs) out.rtt_us = ev.rttUs;
  if (ev.minRttUs) out.min_rtt_us = ev.minRttUs;
  const value = ctx.socket.value?.(ev);
  if (value?.is === "state") out.new_state = TCP_STATES[value.state] || String(value.state);
  if (value?.is === "bytes") {
    if (value.bytes >= 0) out.bytes = value.bytes;
    else out.errno = -value.bytes;
  }
  const reset = ev.rstReason ? ctx.socket.resetReason?.(ev.rstReason) : undefined;
  if (reset) out.reset_reason = reset;
  if (messages.length) out.findings = [...messages];
  if (ev.stackId >= 0 && ctx.stack) out.stack = ctx.stack(ev.stackId);
  return out;
}

/** A socket's block: its events and what --diag made of them. */
export function socketBlockJson(b: SocketBlock, ctx: LifeJsonContext, report?: PacketReport): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: "socket",
    v: JSON_SCHEMA_VERSION,
    sk: `0x${b.sk.toString(16)}`,
    events: b.events.map((e, i) => socketEventJson(e, ctx, report?.messages[i])),
  };
  if (report?.abnormal) out.analysis = analysisJson(report.findings, report.notes);
  return out;
}

/** --basic: one event as it comes (a packet's, a socket's, a netfilter record, a return). */
export function basicEventJson(event: Record<string, unknown>): Record<string, unknown> {
  return { type: "event", v: JSON_SCHEMA_VERSION, ...event };
}
