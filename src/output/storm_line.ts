/**
 * The text of a drop storm's repeats (--storm-limit): the drop as its key
 * knows it, and how many more the kernel counted instead of sending:
 * `[8221.029887] UDP: 10.231.0.1 -> 10.231.0.2:9, reason: NO_SOCKET, __udp4_lib_rcv+0x4bc ... and 118,889 more like this in 1.0 s`
 * @module
 */
import { type DropReasons, reasonName } from "../event/drop_reasons.ts";
import { isIp, type StormKey, type StormRepeats } from "../event/storm.ts";
import { ethertypeName, ipProtocolName } from "../packet/protocols.ts";
import { groupedCount } from "./grouped_count.ts";
import type { TimestampFormatter } from "./timestamp.ts";

/** What a storm line needs besides the repeats. */
export interface StormLineContext {
  time: TimestampFormatter;
  /** undefined: the kernel has no drop reasons */
  reasons?: DropReasons;
  symbolize: (addr: bigint) => string;
  detail: boolean;
}

/** The flow of a key: "UDP: 10.0.0.1 -> 10.0.0.2:53" (no source port: the key has none); "UDP: every flow" when the
 * key has no flow (--monitor). */
export function stormFlowText(k: StormKey): string {
  if (k.flowless) return `${isIp(k.l3Proto) ? ipProtocolName(k.l4Proto) : ethertypeName(k.l3Proto)}: every flow`;
  if (k.saddr === undefined || k.daddr === undefined) return ethertypeName(k.l3Proto);
  const v6 = k.l3Proto !== 0x0800;
  const dst = k.dport ? (v6 ? `[${k.daddr}]:${k.dport}` : `${k.daddr}:${k.dport}`) : k.daddr;
  return `${ipProtocolName(k.l4Proto)}: ${k.saddr} -> ${dst}`;
}

/** One line per key and interval. */
export function formatStormLine(r: StormRepeats, ctx: StormLineContext): string {
  const k = r.key;
  let line = `[${ctx.time.format(r.tsNs)}] ${ctx.detail ? `netns:${k.netns} ` : ""}${stormFlowText(k)}`;
  if (ctx.reasons) line += `, reason: ${reasonName(ctx.reasons, k.reason)}`;
  return `${line}, ${ctx.symbolize(k.location)}${moreLikeThis(r.count, r.seconds)}`;
}

/** What a line of repeats ends with: ` ... and 118,889 more like this in 1.0 s` (drops' storms, socket findings). */
export function moreLikeThis(count: number, seconds: number): string {
  return ` ... and ${groupedCount(count)} more like this in ${seconds.toFixed(1)} s`;
}
