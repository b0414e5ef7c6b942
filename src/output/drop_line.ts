/**
 * The text of one drop event:
 * `[3867.337581] TCP: 127.0.0.1:50482 -> 127.0.0.1:9 seq:140685936, ack:0, flags:S, reason: NO_SOCKET, tcp_v4_rcv+0x91`
 * @module
 */
import { detailColumns } from "./detail_columns.ts";
import type { KernelEvent } from "../event/decode.ts";
import { decodePacket } from "../packet/decode.ts";
import { formatPacket } from "../packet/format.ts";
import { type DropReasons, reasonName } from "../event/drop_reasons.ts";
import type { TimestampFormatter } from "./timestamp.ts";
import { netfilterDropNote } from "./netfilter_text.ts";

/** What a drop line needs besides the event. */
export interface DropLineContext {
  time: TimestampFormatter;
  /** undefined: the kernel has no drop reasons, no reason column */
  reasons?: DropReasons;
  /** code address -> "func+0xoff" */
  symbolize: (addr: bigint) => string;
  detail: boolean;
}

/** One line for a drop event. */
export function formatDropLine(ev: KernelEvent, ctx: DropLineContext): string {
  let line = `[${ctx.time.format(ev.tsNs)}] `;
  if (ctx.detail) {
    line += detailColumns({
      address: ev.skb,
      cpu: ev.cpu,
      ifname: ev.ifname,
      netns: ev.netns,
      pid: ev.pid,
      comm: ev.comm,
    });
  }
  line += formatPacket(decodePacket(ev.packet));
  if (ctx.reasons) line += `, reason: ${reasonName(ctx.reasons, ev.reason)}`;
  line += `, ${ctx.symbolize(ev.location)}`;
  return ev.nf ? `${line}, ${netfilterDropNote(ev.nf)}` : line;
}

/** What a drop's pcapng comment names besides the event. */
export interface DropCommentContext {
  reasons?: DropReasons;
  symbolize: (addr: bigint) => string;
  /** the kernel point the drop was seen at: "tracepoint skb:kfree_skb" */
  point: string;
}

/**
 * The comment of a dropped packet in -w's pcapng, as Wireshark shows it beside the packet:
 * `dropped: reason NO_SOCKET at __udp4_lib_rcv+0x4bc (tracepoint skb:kfree_skb), skb 0xffff888104f2e800`
 */
export function formatDropComment(ev: KernelEvent, ctx: DropCommentContext): string {
  const reason = ctx.reasons ? `reason ${reasonName(ctx.reasons, ev.reason)} ` : "";
  return `dropped: ${reason}at ${ctx.symbolize(ev.location)} (${ctx.point}), skb 0x${ev.skb.toString(16)}, ` +
    `${ev.ifname ? `dev ${ev.ifname}, ` : ""}netns ${ev.netns}, comm ${ev.comm}, pid ${ev.pid}`;
}
