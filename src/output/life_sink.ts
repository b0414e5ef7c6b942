/**
 * Where the lifecycle mode's results go: text lines (the C nettrace's shape)
 * or JSON objects (--json). Each method gives the text to write for one
 * result; the mode decides when a result is complete.
 * @module
 */
import type { KernelEvent, NetfilterInfo, SocketEvent } from "../event/decode.ts";
import type { PacketReport } from "../diag/packet_report.ts";
import type { LifeBlock } from "../life/context_tracker.ts";
import type { SocketBlock } from "../life/socket_tracker.ts";
import { formatAnalysis } from "./analysis_result.ts";
import { formatBlock, formatLifeLine, type LifeLineContext } from "./life_line.ts";
import { formatSocketBlock, formatSocketLine, type SocketLineContext } from "./socket_line.ts";
import { netfilterNote } from "./netfilter_text.ts";
import {
  basicEventJson,
  lifeEventJson,
  type LifeJsonContext,
  packetBlockJson,
  socketBlockJson,
  socketEventJson,
} from "./life_json.ts";
import { JSON_SCHEMA_VERSION, netfilterJson } from "./json_records.ts";

/** The text of each lifecycle result. */
export interface LifeSink {
  /** a packet's block, with --diag's report */
  block(b: LifeBlock, report?: PacketReport): string;
  /** a socket's block, with --diag's report */
  socketBlock(b: SocketBlock, report?: PacketReport): string;
  /** --basic: one event of a packet */
  event(ev: KernelEvent): string;
  /** --basic: one event of a socket */
  socketEvent(ev: SocketEvent): string;
  /** --basic: netfilter details of an event */
  netfilter(tsNs: number, point: number, info: NetfilterInfo): string;
  /** --basic: a function's return value */
  ret(tsNs: number, point: number, value: bigint): string;
}

/** Text lines, as the C nettrace prints them. */
export class TextLifeSink implements LifeSink {
  constructor(readonly line: LifeLineContext, readonly socket: SocketLineContext) {}

  block(b: LifeBlock, report?: PacketReport): string {
    const text = formatBlock(b, this.line, report?.messages);
    return report?.abnormal ? `${text}\n${formatAnalysis(report.findings, report.notes)}` : text;
  }

  socketBlock(b: SocketBlock, report?: PacketReport): string {
    const text = formatSocketBlock(b, this.socket, report?.messages);
    return report?.abnormal ? `${text}\n${formatAnalysis(report.findings, report.notes)}` : text;
  }

  event(ev: KernelEvent): string {
    return formatLifeLine(ev, this.line);
  }

  socketEvent(ev: SocketEvent): string {
    return formatSocketLine(ev, this.socket);
  }

  #head(tsNs: number, point: number): string {
    return `[${this.line.time.format(tsNs)}] [${this.line.pointName(point).padEnd(20)}]`;
  }

  netfilter(tsNs: number, point: number, info: NetfilterInfo): string {
    return `${this.#head(tsNs, point)} ${netfilterNote(info)}`;
  }

  ret(tsNs: number, point: number, value: bigint): string {
    return `${this.#head(tsNs, point)} ret: ${BigInt.asIntN(64, value)}`;
  }
}

/** One JSON object per line (docs/json.md). */
export class JsonLifeSink implements LifeSink {
  constructor(readonly ctx: LifeJsonContext) {}

  block(b: LifeBlock, report?: PacketReport): string {
    return JSON.stringify(packetBlockJson(b, this.ctx, report));
  }

  socketBlock(b: SocketBlock, report?: PacketReport): string {
    return JSON.stringify(socketBlockJson(b, this.ctx, report));
  }

  event(ev: KernelEvent): string {
    return JSON.stringify(basicEventJson({ kind: "packet", ...lifeEventJson(ev, this.ctx) }));
  }

  socketEvent(ev: SocketEvent): string {
    return JSON.stringify(basicEventJson({ kind: "socket", ...socketEventJson(ev, this.ctx) }));
  }

  netfilter(tsNs: number, point: number, info: NetfilterInfo): string {
    return JSON.stringify(
      basicEventJson({ kind: "netfilter", ts_ns: tsNs, point: this.ctx.pointName(point), ...netfilterJson(info) }),
    );
  }

  ret(tsNs: number, point: number, value: bigint): string {
    return JSON.stringify({
      type: "event",
      v: JSON_SCHEMA_VERSION,
      kind: "return",
      ts_ns: tsNs,
      point: this.ctx.pointName(point),
      ret: BigInt.asIntN(64, value).toString(),
    });
  }
}
