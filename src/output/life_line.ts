/**
 * Lines of the lifecycle mode, shaped as the C nettrace prints them:
 * `***************** ffff889be8fbd500,ffff889be8fbcd00 ***************`
 * `[1272349.614564] [ip_rcv              ] ICMP: 169.254.128.15 -> 172.27.0.6 ping request, seq: 48220`
 * @module
 */
import { blockLatencies, formatLatency, type LatencyChoice } from "../life/block_latency.ts";
import { formatCallStack } from "./call_stack.ts";
import { findingMarks } from "./analysis_result.ts";
import { detailColumns } from "./detail_columns.ts";
import type { KernelEvent } from "../event/decode.ts";
import { decodePacket } from "../packet/decode.ts";
import { formatPacket } from "../packet/format.ts";
import type { LifeBlock } from "../life/context_tracker.ts";
import type { TimestampFormatter } from "./timestamp.ts";
import { netfilterNote } from "./netfilter_text.ts";
import { blockVerdicts, type Verdict, verdictOf } from "../event/netfilter_verdict.ts";

/** Where and why a free dropped its skb, as far as the kernel says. */
export interface DropCause {
  reason?: string;
  location?: string;
}

/** A free's note: `reason: NO_SOCKET, tcp_v4_rcv+0x1f2`, or the location alone on kernels without reasons. */
export function dropCauseText(c: DropCause): string | undefined {
  if (c.reason) return `reason: ${c.reason}${c.location ? `, ${c.location}` : ""}`;
  return c.location;
}

/** What a lifecycle line needs besides the event. */
export interface LifeLineContext {
  readonly time: TimestampFormatter;
  /** point index -> its name */
  readonly pointName: (point: number) => string;
  readonly detail: boolean;
  /** frames of a recorded stack (--trace-stack), by stack id */
  readonly stack?: (id: number) => string[];
  /** a free's drop reason and location, undefined for other events */
  readonly dropCause?: (ev: KernelEvent) => DropCause | undefined;
  /** whether an event is a free with a drop reason (a table walker's NF_STOLEN around it is a drop) */
  readonly freedWithDropReason?: (ev: KernelEvent) => boolean;
  /** --latency-show: each point's time since its packet's first point */
  readonly latency?: LatencyChoice;
  /** --tiny-show: a block's first line shows the packet, the others only their point (and what happened there) */
  readonly tiny?: boolean;
}

const POINT_WIDTH = 20;

/**
 * One line for one event; marks: what --diag says of it (` *message*`);
 * verdict: the netfilter verdict its block shows (else read from its return value alone).
 */
export function formatLifeLine(
  ev: KernelEvent,
  ctx: LifeLineContext,
  marks = "",
  verdict: Verdict | undefined = verdictOf(ctx.pointName(ev.point), ev.ret),
  latencyNs?: number,
  showPacket = true,
): string {
  const name = ctx.pointName(ev.point).padEnd(POINT_WIDTH);
  let line = `[${ctx.time.format(ev.tsNs)}] `;
  if (ctx.detail) {
    line += detailColumns({
      address: ev.skb,
      point: name,
      cpu: ev.cpu,
      ifname: ev.ifname,
      netns: ev.netns,
      pid: ev.pid,
      comm: ev.comm,
    });
  } else {
    line += `[${name}] `;
  }
  const extras: string[] = [];
  if (ev.ret !== undefined) extras.push(`ret: ${BigInt.asIntN(64, ev.ret)}`);
  if (latencyNs !== undefined) extras.push(`latency: ${formatLatency(latencyNs)}`);
  line += showPacket ? formatPacket(decodePacket(ev.packet)) + extras.map((x) => `, ${x}`).join("") : extras.join(", ");
  if (!showPacket) line = line.trimEnd();
  if (ev.nf) line += ` *${netfilterNote(ev.nf, verdict)}*`;
  const cause = ctx.dropCause?.(ev);
  const drop = cause && dropCauseText(cause);
  if (drop) line += ` *${drop}*`;
  line += marks;
  if (ev.stackId >= 0 && ctx.stack) line += "\n" + formatCallStack(ctx.stack(ev.stackId));
  return line;
}

/** The header line of a packet's block. */
export function formatBlockHeader(skbs: readonly bigint[]): string {
  return `***************** ${skbs.map((s) => s.toString(16)).join(",")} ***************`;
}

/**
 * A whole block: header, one line per event, a note when its end was not
 * seen, a blank line. marks: per event, the messages of what --diag found.
 */
export function formatBlock(b: LifeBlock, ctx: LifeLineContext, marks?: readonly string[][]): string {
  const verdicts = blockVerdicts(b.events, ctx.pointName, ctx.freedWithDropReason ?? (() => false));
  const latencies = ctx.latency ? blockLatencies(b, ctx.latency) : [];
  const lines = [
    formatBlockHeader(b.skbs),
    ...b.events.map((e, i) =>
      formatLifeLine(e, ctx, findingMarks(marks?.[i]), verdicts[i], latencies[i], !ctx.tiny || i === 0)
    ),
  ];
  if (!b.complete) lines.push("(end of life not seen: printed after the context timeout)");
  lines.push("");
  return lines.join("\n");
}
