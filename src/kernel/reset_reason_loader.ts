/**
 * The running kernel's reset reasons: its BTF, else the tcp_send_reset
 * tracepoint's format file.
 * @module
 */
import type { Btf } from "../../lib/ffi/btf.ts";
import { resetReasonsFromEnum, resetReasonsFromFormat } from "../event/reset_reasons.ts";

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
