/**
 * Why a socket sent a reset (`enum sk_rst_reason`, kernels 6.10 and later),
 * named from the running kernel's BTF enum or the tcp_send_reset tracepoint's
 * format file (src/kernel/reset_reason_loader.ts reads them). Never a built-in
 * table; older kernels have none.
 * @module
 */
const PREFIX = "SK_RST_REASON_";

/** Names by value, without the SK_RST_REASON_ prefix, from the enum's enumerators. Pure. */
export function resetReasonsFromEnum(values: Map<number, string>): Map<number, string> {
  const out = new Map<number, string>();
  for (const [v, n] of values) {
    const name = n.startsWith(PREFIX) ? n.slice(PREFIX.length) : n;
    if (name !== "MAX") out.set(v, name);
  }
  return out;
}

/** Names by value from the tcp_send_reset format's __print_symbolic(REC->reason, ...). Pure. */
export function resetReasonsFromFormat(format: string): Map<number, string> {
  const out = new Map<number, string>();
  if (!/field:enum sk_rst_reason reason;/.test(format)) return out;
  const list = format.match(/__print_symbolic\(REC->reason,(.*?)\)\s*$/m)?.[1] ?? "";
  for (const m of list.matchAll(/\{\s*(\d+)\s*,\s*"([A-Z0-9_]+)"\s*\}/g)) {
    if (m[2] !== "MAX") out.set(Number(m[1]), m[2]);
  }
  return out;
}
