/** A kernel function found by its name or as the compiler's variant of it. */
import { assertEquals } from "../helpers/assert.ts";
import { functionLookup } from "../../src/kernel/function_lookup.ts";

Deno.test("function lookup: the name itself first, else its first variant (name.isra.0, name.constprop.0), else none", () => {
  const find = functionLookup(new Set(["ip_rcv", "ip_rcv.cold", "napi_gro_complete.constprop.0", "tcp_v4_rcv"]));
  assertEquals(
    ["ip_rcv", "napi_gro_complete", "tcp_v4_rcv", "napi_gro", "xfrm_output"].map(find),
    ["ip_rcv", "napi_gro_complete.constprop.0", "tcp_v4_rcv", undefined, undefined],
  );
});
