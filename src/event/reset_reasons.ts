/**
 * Why a socket sent a reset (`enum sk_rst_reason`, kernels 6.10 and later),
 * read from the running kernel: its BTF, else the tcp_send_reset
 * tracepoint's format file. Never a built-in table; older kernels have none.
 * @module
 */
import type { Btf } from "../../lib/ffi/btf.ts";

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

/** The running kernel's reset reasons (empty when it has none). */
export function loadResetReasons(btf: Btf | undefined, tracefs: string | undefined): Map<number, string> {
  const fromBtf = btf?.enumValues("sk_rst_reason");
  if (fromBtf) return resetReasonsFromEnum(fromBtf);
  if (tracefs) {
    try {
      return resetReasonsFromFormat(Deno.readTextFileSync(`${tracefs}/events/tcp/tcp_send_reset/format`));
    } catch { /* no such tracepoint */ }
  }
  return new Map();
}
