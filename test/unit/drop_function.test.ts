/** Choosing the kernel's drop function and its argument positions from BTF signatures. */
import { assertEquals } from "../helpers/assert.ts";
import { dropFunctionBySymbol, pickDropFunction } from "../../src/kernel/drop_function.ts";

const SKB = { name: "skb", typeName: "struct sk_buff *" };
const REASON = { name: "reason", typeName: "enum skb_drop_reason" };
const SK = { name: "sk", typeName: "struct sock *" };

function kernel(funcs: Record<string, { name: string; typeName: string }[]>) {
  return (name: string) => funcs[name];
}

Deno.test("drop function: 6.11+ sk_skb_reason_drop(sk, skb, reason)", () => {
  const k = kernel({ sk_skb_reason_drop: [SK, SKB, REASON], kfree_skb_reason: [SKB, REASON] });
  assertEquals(pickDropFunction(k), { name: "sk_skb_reason_drop", skbArg: 1, reasonArg: 2 });
});

Deno.test("drop function: 5.17-6.10 kfree_skb_reason(skb, reason)", () => {
  assertEquals(pickDropFunction(kernel({ kfree_skb_reason: [SKB, REASON], kfree_skb: [SKB] })), {
    name: "kfree_skb_reason",
    skbArg: 0,
    reasonArg: 1,
  });
});

Deno.test("drop function: older kernels have kfree_skb(skb) and no reason", () => {
  assertEquals(pickDropFunction(kernel({ kfree_skb: [SKB] })), { name: "kfree_skb", skbArg: 0, reasonArg: undefined });
});

Deno.test("drop function: a candidate without an skb argument is passed over; none at all is undefined", () => {
  assertEquals(pickDropFunction(kernel({ sk_skb_reason_drop: [SK, REASON], kfree_skb: [SKB] }))?.name, "kfree_skb");
  assertEquals(pickDropFunction(kernel({})), undefined);
});

Deno.test("drop function without BTF: the newest name in kallsyms, with the signature it has upstream", () => {
  const kallsyms = (names: string[]) => (n: string) => names.includes(n);
  assertEquals(dropFunctionBySymbol(kallsyms(["kfree_skb", "consume_skb"])), { name: "kfree_skb", skbArg: 0 });
  assertEquals(dropFunctionBySymbol(kallsyms(["kfree_skb_reason"])), {
    name: "kfree_skb_reason",
    skbArg: 0,
    reasonArg: 1,
  });
  assertEquals(dropFunctionBySymbol(kallsyms(["sk_skb_reason_drop", "kfree_skb_reason"])), {
    name: "sk_skb_reason_drop",
    skbArg: 1,
    reasonArg: 2,
  });
  assertEquals(dropFunctionBySymbol(kallsyms(["consume_skb"])), undefined);
});
