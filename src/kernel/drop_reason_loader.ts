/**
 * Loads the running kernel's drop reasons: BTF first, the tracepoint format
 * file when there is no BTF.
 * @module
 */
import type { Btf } from "../../lib/ffi/btf.ts";
import { type DropReasons, reasonsFromEnums, reasonsFromTracepointFormat } from "../event/drop_reasons.ts";

/** Reads drop reasons from btf, else from tracefs's kfree_skb format. */
export function loadDropReasons(btf: Btf | undefined, tracefs: string | undefined): DropReasons {
  const fromBtf = btf?.enumValues("skb_drop_reason");
  if (fromBtf) return reasonsFromEnums(fromBtf, btf?.enumValues("skb_drop_reason_subsys"));
  if (tracefs) {
    try {
      return reasonsFromTracepointFormat(Deno.readTextFileSync(`${tracefs}/events/skb/kfree_skb/format`));
    } catch { /* no such tracepoint */ }
  }
  return { source: "none", names: new Map(), subsystems: new Map() };
}
