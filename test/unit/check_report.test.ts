/** The capability report's text, as the tests read it back. */
import { assertEquals } from "../helpers/assert.ts";
import { parseCheckReport } from "../helpers/check_report.ts";
import { type CapabilityReport, formatCapabilityReport } from "../../src/kernel/capabilities.ts";

Deno.test("check report: every row formats to one line and parses back", () => {
  const cap = (name: string, available: boolean, detail: string) => ({ name, available, detail });
  const report: CapabilityReport = {
    kernelRelease: "6.1.0-50-amd64",
    btf: cap("BTF", true, "/sys/kernel/btf/vmlinux"),
    tracefs: cap("tracefs", true, "/sys/kernel/tracing"),
    attach: {
      tracepoint: cap("tracepoint", true, "attached to skb:kfree_skb, saw a loopback datagram"),
      raw_tracepoint: cap("raw_tracepoint", true, "attached to skb:kfree_skb, saw a loopback datagram"),
      tp_btf: cap("tp_btf", true, "attached to skb:kfree_skb, saw a loopback datagram"),
      kprobe: cap("kprobe", true, "attached to ip_rcv, saw a loopback datagram"),
      kretprobe: cap("kretprobe", true, "attached to ip_rcv, fired 2x around a loopback datagram"),
      "kprobe-multi": cap("kprobe-multi", false, "kernel built without CONFIG_FPROBE (EOPNOTSUPP)"),
      fentry: cap("fentry", true, "attached to ip_rcv, saw a loopback datagram"),
      fexit: cap("fexit", true, "attached to ip_rcv, saw a loopback datagram"),
    },
    dropReasons: cap("drop reasons", true, "65 reasons (enum skb_drop_reason in BTF)"),
  };
  const text = formatCapabilityReport(report);
  assertEquals(text.split("\n")[0], "kernel 6.1.0-50-amd64");
  const rows = parseCheckReport(text);
  assertEquals(rows.size, 11);
  assertEquals(rows.get("kprobe-multi"), {
    available: false,
    detail: "kernel built without CONFIG_FPROBE (EOPNOTSUPP)",
  });
  assertEquals(rows.get("drop reasons")?.detail, "65 reasons (enum skb_drop_reason in BTF)");
  assertEquals(rows.get("kretprobe")?.available, true);
});
