/**
 * `nettrace explain`: a drop reason of the running kernel in plain words.
 * Pure formatting of the kernel's reasons and the shipped texts.
 * @module
 */
import type { DropReasons } from "../event/drop_reasons.ts";
import { UsageError } from "../errors.ts";
import type { ReasonText } from "./drop_reason_text.ts";

/** Names that are enum markers, not reasons. */
const NOT_REASONS = new Set(["MAX", "SUBSYS_MASK"]);

/**
 * NO_SOCKET, no_socket and SKB_DROP_REASON_NO_SOCKET all name NO_SOCKET;
 * skb_consumed names CONSUMED. A name that is itself a reason keeps its SKB_
 * (SKB_RX_HEADROOM, SKB_CSUM): known lists the names that count as reasons.
 */
export function normalizeReasonName(name: string, known: (n: string) => boolean = () => false): string {
  const upper = name.toUpperCase().replace(/^SKB_DROP_REASON_/, "");
  if (!upper.startsWith("SKB_") || known(upper)) return upper;
  return upper.slice("SKB_".length);
}

function valueOf(kernel: DropReasons, name: string): number | undefined {
  for (const [v, n] of kernel.names) if (n === name) return v;
  return undefined;
}

/** The part of the stack a reason's name points to, for reasons nettrace has no text for. */
const AREA_BY_PREFIX: Array<[RegExp, string]> = [
  [/^TCP_/, "tcp"],
  [/^UDP_/, "udp"],
  [/^ICMP_/, "icmp"],
  [/^IPV6_|^IPV6/, "ipv6"],
  [/^(IP_|PKT_|FRAG_|DUP_FRAG)/, "ip"],
  [/^NEIGH_/, "neighbour"],
  [/^(TC_|QDISC_|FQ_|CAKE_|DUALPI2_)/, "tc"],
  [/^(SOCKET_|UNIX_|PACKET_SOCK)/, "socket"],
  [/^(NETFILTER|NF_)/, "netfilter"],
  [/^XDP/, "xdp"],
  [/^XFRM_/, "xfrm"],
  [/^(VXLAN_)/, "vxlan"],
  [/^(BRIDGE_|LOCAL_MAC|MAC_)/, "bridge"],
  [/^(IP_TUNNEL|TUNNEL_)/, "tunnel"],
  [/^(DEV_|TAP_|FULL_RING|SKB_)/, "device"],
  [/^(CAN|CANFD|CANXL)_/, "can"],
  [/^SEG6_/, "seg6"],
  [/^PSP_/, "psp"],
  [/^BPF_/, "bpf"],
];

/** The area of a reason: its text's, else a guess from its name, else the kernel's subsystem (core). */
export function reasonArea(name: string, texts: Map<string, ReasonText>): string {
  const text = texts.get(name);
  if (text) return text.area;
  const sub = name.match(/^([A-Z0-9_]+):0x[0-9a-f]+$/);
  if (sub) return sub[1].toLowerCase();
  for (const [re, area] of AREA_BY_PREFIX) if (re.test(name)) return area;
  return "core";
}

/** The explanation of one reason; UsageError when neither the kernel nor the texts know it. */
export function explainReason(query: string, kernel: DropReasons, texts: Map<string, ReasonText>): string {
  const name = normalizeReasonName(query, (n) => texts.has(n) || valueOf(kernel, n) !== undefined);
  const value = valueOf(kernel, name);
  const text = texts.get(name);
  if (value === undefined && !text) {
    throw new UsageError(`'${query}' is not a drop reason of this kernel (nettrace explain --list lists them)`);
  }
  const where = value === undefined
    ? kernel.source === "none" ? "this kernel reports no drop reasons" : "not defined by this kernel"
    : `value ${value} in this kernel`;
  const lines = [`${name} (${reasonArea(name, texts)}, ${where})`];
  if (text) {
    lines.push(`  ${text.meaning}`);
    if (text.advice) lines.push(`  advice: ${text.advice}`);
  } else {
    lines.push(
      "  no explanation in this version of nettrace: a drop reason new to it (the area is a guess from the name)",
    );
  }
  return lines.join("\n") + "\n";
}

/** Every reason of the running kernel, one line each, in value order. */
export function listReasons(kernel: DropReasons, texts: Map<string, ReasonText>): string {
  if (kernel.source === "none") return "this kernel reports no drop reasons (kfree_skb has no reason field)\n";
  const rows = [...kernel.names].filter(([, n]) => !NOT_REASONS.has(n)).sort((a, b) => a[0] - b[0]);
  const width = Math.max(...rows.map(([, n]) => n.length));
  const lines = rows.map(([v, n]) => {
    const t = texts.get(n);
    return `${String(v).padStart(4)}  ${n.padEnd(width)}  ${
      t ? `${t.area}: ${t.meaning}` : `${reasonArea(n, texts)}: (no explanation yet)`
    }`;
  });
  const missing = rows.filter(([, n]) => !texts.has(n)).length;
  lines.push("", `${rows.length} drop reasons in this kernel (${kernel.source}), ${rows.length - missing} explained`);
  return lines.join("\n") + "\n";
}
