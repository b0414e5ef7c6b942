import { assertEquals } from "../helpers/assert.ts";
import { canLoadBpf, effectiveCapabilities } from "../../src/kernel/privileges.ts";
import { parseKernelConfig } from "../../src/kernel/kconfig.ts";

Deno.test("privileges: CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON, may load BPF", () => {
  assertEquals(canLoadBpf(effectiveCapabilities("CapEff:\t000001ffffffffff\n")), true);
  assertEquals(canLoadBpf(1n << 21n), true);
  assertEquals(canLoadBpf((1n << 39n) | (1n << 38n)), true);
  assertEquals(canLoadBpf(1n << 39n), false);
  assertEquals(canLoadBpf(effectiveCapabilities("Name:\tx\nCapEff:\t0000000000000000\n")), false);
  assertEquals(effectiveCapabilities("no caps here"), 0n);
});

Deno.test("kconfig: set, unset and module options", () => {
  const c = parseKernelConfig(
    "CONFIG_BPF=y\n# CONFIG_KPROBES is not set\nCONFIG_NF_TABLES=m\nCONFIG_HZ=250\n# comment\n",
  );
  assertEquals([
    c.get("CONFIG_BPF"),
    c.get("CONFIG_KPROBES"),
    c.get("CONFIG_NF_TABLES"),
    c.get("CONFIG_HZ"),
    c.get("CONFIG_X"),
  ], ["y", "n", "m", "250", undefined]);
});
