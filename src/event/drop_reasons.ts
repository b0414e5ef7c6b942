/**
 * Drop reason names, read from the running kernel: `enum skb_drop_reason` in
 * its BTF, or the kfree_skb tracepoint's format file. Never a built-in table.
 * @module
 */

/** Where the names came from. */
export type DropReasonSource = "btf" | "tracepoint" | "none";

/** The running kernel's drop reasons. */
export interface DropReasons {
  source: DropReasonSource;
  /** value -> name without the SKB_DROP_REASON_ prefix ("NO_SOCKET") */
  names: Map<number, string>;
  /** value of SKB_CONSUMED when the kernel has it (not a drop) */
  consumed?: number;
  /** subsystem id -> name, for reasons with subsystem bits (upper 16) */
  subsystems: Map<number, string>;
}

const PREFIX = "SKB_DROP_REASON_";
const SUBSYS_PREFIX = "SKB_DROP_REASON_SUBSYS_";
const SUBSYS_SHIFT = 16;

/** Builds reasons from BTF enums (value -> full enumerator name). */
export function reasonsFromEnums(
  reasonEnum: Map<number, string>,
  subsysEnum?: Map<number, string>,
): DropReasons {
  const names = new Map<number, string>();
  let consumed: number | undefined;
  for (const [v, n] of reasonEnum) {
    if (n === "SKB_CONSUMED") consumed = v;
    if (n === "SKB_DROP_REASON_MAX") continue;
    names.set(v, n.startsWith(PREFIX) ? n.slice(PREFIX.length) : n.replace(/^SKB_/, ""));
  }
  const subsystems = new Map<number, string>();
  for (const [v, n] of subsysEnum ?? []) {
    if (n.endsWith("_NUM")) continue;
    subsystems.set(v, n.startsWith(SUBSYS_PREFIX) ? n.slice(SUBSYS_PREFIX.length) : n);
  }
  return { source: "btf", names, consumed, subsystems };
}

/**
 * Reads reasons from the kfree_skb tracepoint format: its __print_symbolic
 * list. A format without a reason field means the kernel has no drop reasons.
 */
export function reasonsFromTracepointFormat(format: string): DropReasons {
  const names = new Map<number, string>();
  if (!/field:enum skb_drop_reason reason;|field:[^;]*\breason;/.test(format)) {
    return { source: "none", names, subsystems: new Map() };
  }
  for (const m of format.matchAll(/\{\s*(\d+)\s*,\s*"([A-Z0-9_]+)"\s*\}/g)) {
    if (m[2] !== "MAX") names.set(Number(m[1]), m[2]);
  }
  return { source: names.size ? "tracepoint" : "none", names, subsystems: new Map() };
}

/** The name printed for a reason value. */
export function reasonName(r: DropReasons, value: number): string {
  const n = r.names.get(value);
  if (n) return n;
  const subsys = value >>> SUBSYS_SHIFT;
  if (subsys) {
    const s = r.subsystems.get(subsys) ?? `SUBSYS_${subsys}`;
    return `${s}:0x${(value & 0xffff).toString(16)}`;
  }
  return `UNKNOWN(${value})`;
}

/** Reasons that mean the skb was not dropped: a free with one of them is not shown as a drop. */
const NOT_DROPS = new Set(["NOT_DROPPED_YET", "CONSUMED"]);

/** Whether a reason name tells of a drop (not NOT_DROPPED_YET or CONSUMED, a normal free). */
export function isDropReason(name: string): boolean {
  return !NOT_DROPS.has(name);
}

/** The name of a free's reason when it tells why a packet was dropped; undefined for none, or a normal free. */
export function dropReasonShown(r: DropReasons, value: number): string | undefined {
  if (!value) return undefined;
  const name = reasonName(r, value);
  return isDropReason(name) ? name : undefined;
}
