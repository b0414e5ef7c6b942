/**
 * The kernel function every skb drop goes through, for attach methods that
 * hook functions (kprobe, kprobe-multi, fentry) instead of the kfree_skb
 * tracepoint. Its name and signature changed over the years; the positions
 * of the skb and the reason are read from the running kernel's BTF, or, on a
 * kernel without BTF, taken from the signature each name has had upstream.
 * @module
 */
import type { Btf } from "../../lib/ffi/btf.ts";

/** The drop function of the running kernel and where its arguments are. */
export interface DropFunction {
  name: string;
  /** 0-based position of the struct sk_buff * argument */
  skbArg: number;
  /** position of the enum skb_drop_reason argument, undefined when it has none */
  reasonArg?: number;
}

/** Newest first: 6.11+ sk_skb_reason_drop(sk, skb, reason), 5.17+ kfree_skb_reason(skb, reason), older kfree_skb(skb). */
export const DROP_FUNCTION_CANDIDATES = ["sk_skb_reason_drop", "kfree_skb_reason", "kfree_skb"];

/** Picks the drop function from a list of (name, params); pure, for tests. */
export function pickDropFunction(
  params: (name: string) => { name: string; typeName: string }[] | undefined,
): DropFunction | undefined {
  for (const name of DROP_FUNCTION_CANDIDATES) {
    const p = params(name);
    if (!p) continue;
    const skbArg = p.findIndex((a) => a.typeName === "struct sk_buff *");
    if (skbArg < 0 || skbArg > 4) continue;
    const r = p.findIndex((a) => a.typeName === "enum skb_drop_reason" || a.typeName === "enum skb_drop_reason_t");
    return { name, skbArg, reasonArg: r >= 0 && r <= 4 ? r : undefined };
  }
  return undefined;
}

/** Each candidate's signature upstream, for kernels without BTF. */
const KNOWN_SIGNATURES: Record<string, Omit<DropFunction, "name">> = {
  sk_skb_reason_drop: { skbArg: 1, reasonArg: 2 },
  kfree_skb_reason: { skbArg: 0, reasonArg: 1 },
  kfree_skb: { skbArg: 0 },
};

/** The drop function of a kernel without BTF: the newest candidate it has (exists: a function of its kallsyms). */
export function dropFunctionBySymbol(exists: (name: string) => boolean): DropFunction | undefined {
  const name = DROP_FUNCTION_CANDIDATES.find(exists);
  return name ? { name, ...KNOWN_SIGNATURES[name] } : undefined;
}

/** The running kernel's drop function, from its BTF. */
export function findDropFunction(btf: Btf): DropFunction | undefined {
  return pickDropFunction((n) => btf.funcParams(n));
}
