/**
 * Lines of socket events in the lifecycle mode, shaped like the C nettrace's
 * socket lines (state, congestion state, what is in flight):
 *
 *     ***************** sock ffff888104b8c000 ***************
 *     [1234.567890] [tcp_cong_state_set  ] TCP: 10.0.0.1:40000 -> 10.0.0.2:4444 ESTABLISHED CA_Open->CA_Loss out:3 retrans:1 total_retrans:4 cwnd:10 srtt:0.2ms rto:204ms
 * @module
 */
import { formatCallStack } from "./call_stack.ts";
import { findingMarks } from "./analysis_result.ts";
import { detailColumns } from "./detail_columns.ts";
import type { SocketEvent } from "../event/decode.ts";
import { SOCKET_ERRNO, type SocketValue } from "../event/socket_value.ts";
import { ipProtocolName } from "../packet/protocols.ts";
import type { SocketBlock } from "../life/socket_tracker.ts";
import { TCP_CA_STATES, TCP_STATES } from "../packet/tcp_states.ts";
import type { TimestampFormatter } from "./timestamp.ts";

/** What a socket line needs besides the event. */
export interface SocketLineContext {
  time: TimestampFormatter;
  /** point index -> its name */
  pointName: (point: number) => string;
  detail: boolean;
  /** frames of a recorded stack (--trace-stack), by stack id */
  stack?: (id: number) => string[];
  /** the name of a reset's reason value, undefined when the kernel names none */
  resetReason?: (value: number) => string | undefined;
  /** the kernel's CONFIG_HZ, to show the RTO as time; without it, in jiffies */
  hz?: number;
  /** the event's value, where its point has one (the state entered, bytes sent or received) */
  value?: (ev: SocketEvent) => SocketValue | undefined;
}

const POINT_WIDTH = 20;

/** An address and port as a socket line shows it: "10.0.0.1:80", "[fd00::1]:80". */
export function formatEndpoint(family: 4 | 6, addr: string, port: number): string {
  return family === 6 ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** A congestion state's name as the C nettrace prints it (CA_Open). */
export function caStateName(v: number): string {
  return `CA_${TCP_CA_STATES[v] ?? v}`;
}

/** Milliseconds, short: 0.12ms, 3ms, 1.000s. */
function duration(us: number): string {
  if (us >= 1_000_000) return `${(us / 1_000_000).toFixed(3)}s`;
  if (us >= 10_000) return `${Math.round(us / 1000)}ms`;
  return `${(us / 1000).toFixed(2).replace(/\.?0+$/, "")}ms`;
}

function stateName(v: number): string {
  return TCP_STATES[v] || `state ${v}`;
}

/** A send's or receive's bytes, or its error (a negative errno). */
function bytesText(n: number): string {
  if (n >= 0) return `bytes:${n}`;
  const name = SOCKET_ERRNO.get(-n);
  return `error:${n}${name ? ` (${name})` : ""}`;
}

/** The socket part of a line: connection, states, counters (TCP), the point's value. Pure. */
export function formatSocket(ev: SocketEvent, ctx: Pick<SocketLineContext, "resetReason" | "hz" | "value">): string {
  const value = ctx.value?.(ev);
  const conn = `${ipProtocolName(ev.protocol)}: ${formatEndpoint(ev.family, ev.saddr, ev.sport)} -> ${
    formatEndpoint(ev.family, ev.daddr, ev.dport)
  }`;
  const state = value?.is === "state" ? `${stateName(ev.state)}->${stateName(value.state)}` : stateName(ev.state);
  const bytes = value?.is === "bytes" ? ` ${bytesText(value.bytes)}` : "";
  // other protocols have no TCP counters; a state is TCP's too
  if (ev.protocol !== 6) return `${conn}${value?.is === "state" ? ` ${state}` : ""}${bytes}`;
  const ca = ev.newCaState !== undefined
    ? `${caStateName(ev.caState)}->${caStateName(ev.newCaState)}`
    : caStateName(ev.caState);
  let s = `${conn} ${state} ${ca}${bytes}` +
    ` out:${ev.packetsOut} retrans:${ev.retransOut} total_retrans:${ev.totalRetrans}`;
  if (ev.lostOut) s += ` lost:${ev.lostOut}`;
  if (ev.sackedOut) s += ` sacked:${ev.sackedOut}`;
  s += ` cwnd:${ev.sndCwnd} srtt:${duration(ev.srttUs)}`;
  if (ev.rttUs) s += ` rtt:${duration(ev.rttUs)}`;
  if (ev.rtoJiffies) s += ` rto:${ctx.hz ? duration(ev.rtoJiffies * 1_000_000 / ctx.hz) : `${ev.rtoJiffies} jiffies`}`;
  if (ev.retransmits) s += ` timeouts:${ev.retransmits}`;
  const reset = ev.rstReason ? ctx.resetReason?.(ev.rstReason) : undefined;
  if (reset) s += ` reset: ${reset}`;
  return s;
}

/** One line for one socket event; marks: what --diag says of it (` *message*`). */
export function formatSocketLine(ev: SocketEvent, ctx: SocketLineContext, marks = ""): string {
  const name = ctx.pointName(ev.point).padEnd(POINT_WIDTH);
  let line = `[${ctx.time.format(ev.tsNs)}] `;
  if (ctx.detail) {
    line += detailColumns({ address: ev.sk, point: name, cpu: ev.cpu, netns: ev.netns, pid: ev.pid, comm: ev.comm });
  } else {
    line += `[${name}] `;
  }
  line += formatSocket(ev, ctx) + marks;
  if (ev.stackId >= 0 && ctx.stack) line += "\n" + formatCallStack(ctx.stack(ev.stackId));
  return line;
}

/** A socket's block: header, one line per event, a blank line. marks: per event, the messages of what --diag found. */
export function formatSocketBlock(b: SocketBlock, ctx: SocketLineContext, marks?: readonly string[][]): string {
  return [
    `***************** sock ${b.sk.toString(16)} ***************`,
    ...b.events.map((e, i) => formatSocketLine(e, ctx, findingMarks(marks?.[i]))),
    "",
  ].join("\n");
}
