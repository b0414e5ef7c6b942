/**
 * Matching diagnosis rules against a packet's events. For each event the
 * rules about its point or its group are tried in file order (user rules
 * first); the first whose conditions all hold gives the event's finding.
 * Rules on a change of addresses (addr_changed) are about the packet, not
 * the point: they are tried apart, so an event can also carry one such
 * finding. Pure: tests feed recorded events.
 * @module
 */
import type { Level, NumberTest, Rule } from "./rules.ts";
import type { Verdict } from "../event/netfilter_verdict.ts";
import { tcpFlagBit } from "../packet/tcp_flags.ts";

/** What a rule can test of one event. */
export interface DiagEvent {
  point: string;
  group: string;
  /** the function's return value, when its return was seen */
  ret?: bigint;
  /** the netfilter verdict the return value means (netfilter_verdict.ts), for netfilter points */
  verdict?: Verdict;
  /** drop reason name, for a free that carries one */
  reason?: string;
  /** the function that freed the skb, for a free */
  location?: string;
  /** transport protocol: tcp, udp, icmp, icmpv6 */
  proto?: string;
  /** TCP flag bits (FIN 0x01 ... CWR 0x80) */
  tcpFlags?: number;
  /** the state of the packet's TCP socket, when it has one */
  tcpState?: string;
  /** the packet's addresses or ports differ from the previous point that showed them */
  addrChanged: boolean;
  /** socket events: the congestion state entered, or the socket's (Open ... Loss) */
  caState?: string;
  /** socket events: TCP left Recovery or Loss by undoing its window reduction */
  undone?: boolean;
}

/** A rule that matched an event. */
export interface Finding {
  level: Level;
  point: string;
  group: string;
  message: string;
  advice?: string;
  rule: Rule;
}

/** Bits of a rule's tcp_flags letters. */
export function tcpFlagBits(letters: string): number {
  let bits = 0;
  for (const c of letters) bits |= tcpFlagBit(c) ?? 0;
  return bits;
}

/** Whether value passes a number test. */
export function numberPasses(t: NumberTest, value: bigint): boolean {
  switch (t.op) {
    case "eq":
      return value === t.value;
    case "ne":
      return value !== t.value;
    case "lt":
      return value < t.value;
    case "gt":
      return value > t.value;
    case "range":
      return value >= t.min && value <= t.max;
  }
}

/** Whether every condition of the rule holds for the event. */
export function ruleMatches(r: Rule, ev: DiagEvent): boolean {
  if (r.ret && (ev.ret === undefined || !numberPasses(r.ret, BigInt.asIntN(64, ev.ret)))) return false;
  if (r.reasons && (ev.reason === undefined || !r.reasons.includes(ev.reason))) return false;
  if (r.locations && (ev.location === undefined || !r.locations.includes(ev.location))) return false;
  if (r.noReason !== undefined && (ev.reason === undefined) !== r.noReason) return false;
  if (r.verdict && ev.verdict !== r.verdict) return false;
  if (r.proto && ev.proto !== r.proto) return false;
  if (r.tcpStates && (ev.tcpState === undefined || !r.tcpStates.includes(ev.tcpState))) return false;
  if (r.tcpFlags && ((ev.tcpFlags ?? 0) & tcpFlagBits(r.tcpFlags)) === 0) return false;
  if (r.addrChanged !== undefined && ev.addrChanged !== r.addrChanged) return false;
  if (r.caStates && (ev.caState === undefined || !r.caStates.includes(ev.caState))) return false;
  if (r.undone !== undefined && (ev.undone ?? false) !== r.undone) return false;
  return true;
}

/** Rules indexed by point and group. */
export class Diagnoser {
  readonly #byPoint = new Map<string, Array<[number, Rule]>>();
  readonly #byGroup = new Map<string, Array<[number, Rule]>>();

  /** rules in priority order: the user's first, then the project's */
  constructor(readonly rules: Rule[]) {
    rules.forEach((r, i) => {
      for (const p of r.points) this.#byPoint.set(p, [...(this.#byPoint.get(p) ?? []), [i, r]]);
      for (const g of r.groups) this.#byGroup.set(g, [...(this.#byGroup.get(g) ?? []), [i, r]]);
    });
  }

  /** Rules that can apply at a point (of its own, of its group, of every group "*"), in priority order. */
  rulesFor(point: string, group: string): Rule[] {
    const both = [
      ...(this.#byPoint.get(point) ?? []),
      ...(this.#byGroup.get(group) ?? []),
      ...(group !== "*" ? this.#byGroup.get("*") ?? [] : []),
    ];
    return both.sort((a, b) => a[0] - b[0]).map(([, r]) => r);
  }

  /** Whether some rule at this point looks at return values (the point then needs them). */
  wantsReturn(point: string, group: string): boolean {
    return this.rulesFor(point, group).some((r) => r.ret !== undefined || r.verdict !== undefined);
  }

  /** The event's findings: the first point rule that matches, then the first change rule that matches. */
  diagnose(ev: DiagEvent): Finding[] {
    const out: Finding[] = [];
    const rules = this.rulesFor(ev.point, ev.group);
    for (const changeRules of [false, true]) {
      const r = rules.find((r) => (r.addrChanged !== undefined) === changeRules && ruleMatches(r, ev));
      if (r) {
        out.push({ level: r.level, point: ev.point, group: ev.group, message: r.message, advice: r.advice, rule: r });
      }
    }
    return out;
  }
}
