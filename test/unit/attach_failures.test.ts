/** The start-up line's account of points that could not be attached. */
import { assertEquals } from "../helpers/assert.ts";
import { attachFailureText, shortReason } from "../../src/output/attach_failures.ts";

Deno.test("attach failures: each point named once, grouped by the kernel's reason", () => {
  const enotsupp = (n: number) =>
    `fentry: bpf_link_create: Operation not supported by the kernel (ENOTSUPP): fentry cookie ${n}`;
  const text = attachFailureText([
    { point: "fib_validate_source", why: enotsupp(50) },
    { point: "ip6_xmit", why: enotsupp(76) },
    { point: "napi_gro_complete", why: "no BTF type for napi_gro_complete.constprop.0 in the kernel or its modules" },
    { point: "fib_validate_source", why: `return probe (fexit): ${enotsupp(50).slice(8)}` },
    { point: "br_forward", why: "not in available_filter_functions (ftrace cannot hook it)" },
  ]);
  assertEquals(
    text,
    "fib_validate_source, ip6_xmit (Operation not supported by the kernel (ENOTSUPP)); " +
      "napi_gro_complete (no BTF type for napi_gro_complete.constprop.0 in the kernel or its modules); " +
      "br_forward (not hookable by ftrace)",
  );
  assertEquals(shortReason("kprobe: Invalid argument (EINVAL): ip_rcv"), "Invalid argument (EINVAL)");
  assertEquals(attachFailureText([]), "");
});
