/**
 * Diagnosis of one packet (a lifecycle block): each event becomes a
 * DiagEvent (its point and group, return value, drop reason, protocol, TCP
 * flags, and whether NAT changed the addresses since the packet was first
 * seen), and gets the finding of the first rule that matches. A socket's
 * events become DiagEvents too (its state, the congestion state entered,
 * whether a window reduction was undone, a reset's reason). Pure.
 * @module
 */
import type { KernelEvent, SocketEvent } from "../event/decode.ts";
import { decodePacket, type Packet } from "../packet/decode.ts";
import type { DiagEvent, Diagnoser, Finding } from "./diagnoser.ts";
import { TCP_CA_STATES, TCP_STATES } from "../packet/tcp_states.ts";
import { blockVerdicts } from "../event/netfilter_verdict.ts";
import { KIND } from "../event/layout.ts";
import { isDropReason } from "../event/drop_reasons.ts";

/** What diagnosis needs to know about the points and reasons of this run. */
export interface DiagnosisContext {
  pointName(point: number): string;
  pointGroup(point: number): string;
  /** the name of a drop reason value (without prefix), undefined for 0 or unknown */
  reasonName(value: number): string | undefined;
  /** the function an address lies in (a free's location) */
  functionAt?(addr: bigint): string | undefined;
  /** the name of a reset's reason value, undefined when the kernel names none */
  resetReasonName?(value: number): string | undefined;
}

const PROTO_NAMES: Record<number, string> = { 6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6" };

/** The addresses and ports of an IP packet, as one comparable string. */
function flowKey(p: Packet): string | undefined {
  if (p.kind !== "ip") return undefined;
  const t = p.transport;
  const ports = t && (t.type === "tcp" || t.type === "udp") ? `${t.sport}>${t.dport}` : "";
  return `${p.saddr}>${p.daddr}/${ports}`;
}

/** Whether an event is a free with a drop reason (what a table walker's NF_STOLEN can hide). */
export function freedWithDropReason(ev: KernelEvent, ctx: Pick<DiagnosisContext, "reasonName">): boolean {
  if (!ev.reason || ev.kind === KIND.ret) return false;
  const name = ctx.reasonName(ev.reason);
  return name !== undefined && isDropReason(name);
}

/** The DiagEvents of a packet's events, in order. */
export function diagEvents(events: readonly KernelEvent[], ctx: DiagnosisContext): DiagEvent[] {
  let last: string | undefined;
  const verdicts = blockVerdicts(events, ctx.pointName, (f) => freedWithDropReason(f, ctx));
  return events.map((ev, i) => {
    const p = decodePacket(ev.packet);
    const key = flowKey(p);
    const d: DiagEvent = {
      point: ctx.pointName(ev.point),
      group: ctx.pointGroup(ev.point),
      ret: ev.ret,
      verdict: verdicts[i],
      reason: ev.reason ? ctx.reasonName(ev.reason) : undefined,
      location: ev.location && ev.kind !== KIND.ret ? ctx.functionAt?.(ev.location) : undefined,
      addrChanged: key !== undefined && last !== undefined && key !== last,
    };
    if (key !== undefined) last = key;
    if (p.kind === "ip") {
      d.proto = PROTO_NAMES[p.protocol];
      if (p.transport?.type === "tcp") {
        d.tcpFlags = p.transport.flags;
        if (ev.skState) d.tcpState = TCP_STATES[ev.skState];
      }
    }
    return d;
  });
}

/** Each event's findings (often none), in order. */
export function diagnosePacket(events: readonly KernelEvent[], d: Diagnoser, ctx: DiagnosisContext): Finding[][] {
  return diagEvents(events, ctx).map((e) => d.diagnose(e));
}

const CA_RECOVERY = 3, CA_LOSS = 4, CA_OPEN = 0;
const TCP_CLOSE = 7;

/**
 * Whether a congestion state change undid a window reduction: TCP goes back
 * to Open from Recovery or Loss with its undo marker cleared, which the
 * kernel does only when it found the retransmissions spurious (DSACK,
 * timestamps, F-RTO). Leaving normally keeps the marker.
 */
export function undidReduction(ev: SocketEvent): boolean {
  return ev.newCaState === CA_OPEN && (ev.caState === CA_RECOVERY || ev.caState === CA_LOSS) &&
    ev.undoCleared && ev.state !== TCP_CLOSE;
}

/** The DiagEvent of a socket event. */
export function socketDiagEvent(ev: SocketEvent, ctx: DiagnosisContext): DiagEvent {
  return {
    point: ctx.pointName(ev.point),
    group: ctx.pointGroup(ev.point),
    reason: ev.rstReason ? ctx.resetReasonName?.(ev.rstReason) : undefined,
    proto: "tcp",
    tcpState: TCP_STATES[ev.state] || undefined,
    caState: TCP_CA_STATES[ev.newCaState ?? ev.caState],
    undone: undidReduction(ev),
    addrChanged: false,
  };
}

/** Each socket event's findings (often none), in order. */
export function diagnoseSocket(events: SocketEvent[], d: Diagnoser, ctx: DiagnosisContext): Finding[][] {
  return events.map((e) => d.diagnose(socketDiagEvent(e, ctx)));
}
