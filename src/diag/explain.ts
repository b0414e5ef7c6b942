/**
 * `nettrace explain`: a drop reason of the running kernel in plain words.
 * Pure formatting of the kernel's reasons and the shipped texts.
 * @module
 */
import type { DropReasons } from "../kernel/drop_reasons.ts";
import { UsageError } from "../errors.ts";
import type { ReasonText } from "./drop_reason_text.ts";

/** Names that are enum markers, not reasons. */
const NOT_REASONS = new Set(["MAX", "SUBSYS_MASK"]);

/** NO_SOCKET, no_socket and SKB_DROP_REASON_NO_SOCKET all name NO_SOCKET. */
export function normalizeReasonName(name: string): string {
  return name.toUpperCase().replace(/^SKB_DROP_REASON_/, "").replace(/^SKB_/, "");
}

function valueOf(kernel: DropReasons, name: string): number | undefined {
  for (const [v, n] of kernel.names) if (n === name) return v;
  return undefined;
}

/** The explanation of one reason; UsageError when neither the kernel nor the texts know it. */
export function explainReason(query: string, kernel: DropReasons, texts: Map<string, ReasonText>): string {
  const name = normalizeReasonName(query);
  const value = valueOf(kernel, name);
  const text = texts.get(name);
  if (value === undefined && !text) {
    throw new UsageError(`'${query}' is not a drop reason of this kernel (nettrace explain --list lists them)`);
  }
  const where = value === undefined
    ? kernel.source === "none" ? "this kernel reports no drop reasons" : "not defined by this kernel"
    : `value ${value} in this kernel`;
  const lines = [`${name} (${text ? `${text.area}, ` : ""}${where})`];
  if (text) {
    lines.push(`  ${text.meaning}`);
    if (text.advice) lines.push(`  advice: ${text.advice}`);
  } else {
    lines.push("  no explanation in this version of nettrace: a core drop reason of the running kernel");
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
    return `${String(v).padStart(4)}  ${n.padEnd(width)}  ${t ? `${t.area}: ${t.meaning}` : "(no explanation yet)"}`;
  });
  const missing = rows.filter(([, n]) => !texts.has(n)).length;
  lines.push("", `${rows.length} drop reasons in this kernel (${kernel.source}), ${rows.length - missing} explained`);
  return lines.join("\n") + "\n";
}
