/** The capability report's text, as the tests read it back. */
import { assertEquals } from "../helpers/assert.ts";
import { parseCheckReport } from "../helpers/check_report.ts";
import type { CapabilityReport } from "../../src/kernel/capability_report.ts";
import { formatCapabilityReport } from "../../src/output/check_report.ts";
import { missingHelper } from "../../src/bpf/missing_helper.ts";
import { monitorRow } from "../../src/modes/check.ts";

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
    ringBuffer: cap("ring buffer", true, "BPF_MAP_TYPE_RINGBUF: events go through it"),
    attachCookie: cap("attach cookie", true, "bpf_get_attach_cookie: one lifecycle program serves every point"),
    dropReasons: cap("drop reasons", true, "65 reasons (enum skb_drop_reason in BTF)"),
  };
  const text = formatCapabilityReport(report);
  assertEquals(text.split("\n")[0], "kernel 6.1.0-50-amd64");
  const rows = parseCheckReport(text);
  assertEquals(rows.size, 13);
  assertEquals(rows.get("kprobe-multi"), {
    available: false,
    detail: "kernel built without CONFIG_FPROBE (EOPNOTSUPP)",
  });
  assertEquals(rows.get("drop reasons")?.detail, "65 reasons (enum skb_drop_reason in BTF)");
  assertEquals(rows.get("kretprobe")?.available, true);
});

Deno.test("check report: a helper the verifier does not know is named, not its whole log", () => {
  // Debian 11's 5.10 loading the fentry probe (its verifier names helpers by number)
  const log = "bpf_object__load: Invalid argument (EINVAL): prog 'nt_probe_fentry': BPF program load failed: " +
    "Invalid argument | prog 'nt_probe_fentry': -- BEGIN PROG LOAD LOG --\n5: (85) call unknown#183\n" +
    "invalid func unknown#183\nprocessed 6 insns";
  assertEquals(
    missingHelper(log),
    "this kernel lacks the BPF helper bpf_get_func_arg (Linux 5.17), which reads a traced function's arguments",
  );
  assertEquals(missingHelper("unknown func bpf_get_func_ret#184"), missingHelper("invalid func unknown#184"));
  assertEquals(missingHelper("invalid func unknown#999"), "this kernel lacks BPF helper #999");
  assertEquals(missingHelper("bpf_object__load: Operation not permitted (EPERM)"), undefined);
});

Deno.test("check report: the monitor row says what --monitor watches with the attach kinds found", () => {
  const kinds = ["tracepoint", "raw_tracepoint", "tp_btf", "kprobe", "kretprobe", "kprobe-multi", "fentry", "fexit"];
  const attach = (yes: string[]) =>
    Object.fromEntries(
      kinds.map((k) => [k, { name: k, available: yes.includes(k), detail: "" }]),
    ) as CapabilityReport["attach"];
  const tracepoints = ["tracepoint", "raw_tracepoint", "tp_btf"];
  assertEquals(
    monitorRow(attach(tracepoints)).detail,
    "drops, congestion states and resets by tracepoints; no function probes: not the retransmission timer, " +
      "nor netfilter's table and chain of a drop",
  );
  assertEquals(
    monitorRow(attach([...tracepoints, "kprobe", "kretprobe"])).detail,
    "drops, congestion states and resets by tracepoints; the retransmission timer by kprobe; " +
      "netfilter's drops not named by table and chain (that needs fentry and fexit)",
  );
  const all = monitorRow(attach(kinds));
  assertEquals(all.available, true);
  assertEquals(
    all.detail,
    "drops, congestion states and resets by tracepoints; the retransmission timer by fentry; " +
      "netfilter's drops named by table, chain and hook (fentry/fexit on its table walks)",
  );
});
