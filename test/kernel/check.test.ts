/**
 * nettrace --check on the real kernel: its answers agree with independent
 * facts of the machine, and probing leaves nothing attached.
 */
import { pathExists } from "../helpers/path_exists.ts";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";
import { expectedAttach } from "../helpers/capabilities.ts";
import { must } from "../helpers/netns.ts";
import { runNettrace } from "../helpers/nettrace_process.ts";

function row(report: string, name: string): { available: boolean; detail: string } {
  const m = report.match(new RegExp(`^  ${name.replace(/[-_]/g, "[-_]")}\\s+(yes|no)\\s+(.*)$`, "m"));
  assert(m, `no '${name}' line in:\n${report}`);
  return { available: m[1] === "yes", detail: m[2] };
}

kernelTest("check: one line per capability, agreeing with the machine", async () => {
  const r = await runNettrace(["--check"]);
  assertEquals(r.code, 0, r.stderr);
  const report = r.stdout;
  assertMatch(report, new RegExp(`^kernel ${Deno.osRelease().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));

  assertEquals(row(report, "BTF").available, pathExists("/sys/kernel/btf/vmlinux"));
  assert(row(report, "tracefs").available, report);
  assert(
    pathExists("/sys/kernel/tracing/events") || pathExists("/sys/kernel/debug/tracing/events"),
    "tracefs not mounted after --check",
  );
  // every kernel nettrace supports has the kfree_skb tracepoint
  assert(row(report, "tracepoint").available, report);

  const kprobeEvents = pathExists("/sys/kernel/tracing/kprobe_events") ||
    pathExists("/sys/kernel/debug/tracing/kprobe_events");
  for (const k of ["kprobe", "kretprobe"]) {
    const c = row(report, k);
    assertEquals(c.available, kprobeEvents, `${k}: ${c.detail}`);
    if (!c.available) assertMatch(c.detail, /CONFIG_KPROBES|kprobe_events/);
  }
  for (
    const k of ["tracepoint", "raw_tracepoint", "tp_btf", "kprobe", "kretprobe", "kprobe-multi", "fentry", "fexit"]
  ) {
    const c = row(report, k);
    if (!c.available) {
      assertMatch(c.detail, /\((E[A-Z]+|errno \d+)\)|BTF|did not see|never fired/, `${k} says no without a reason`);
    } else if (k === "kretprobe" || !pathExists("/sys/kernel/btf/vmlinux")) {
      // a return probe has no skb to match, nor has any probe without BTF
      assertMatch(c.detail, /fired \d+x around a loopback datagram/);
    } else {
      assertMatch(c.detail, /saw a loopback datagram/, `${k} is "yes" without having seen its datagram`);
    }
    if (expectedAttach.has(k)) assert(c.available, `${k} is expected on this kernel: ${c.detail}`);
  }
  const reasons = row(report, "drop reasons");
  // the count, from BTF (bpftool) or else the tracepoint's format, each read without nettrace
  let count: number | undefined;
  if (pathExists("/sys/kernel/btf/vmlinux")) {
    const btf = await must(["bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux"]);
    const m = btf.match(/ENUM 'skb_drop_reason' encoding=\w+ size=\d+ vlen=(\d+)/);
    if (m) count = Number(m[1]) - 1; // less SKB_DROP_REASON_MAX
    // the ring buffer and the attach cookie helper, as the kernel's own enums name them
    assertEquals(row(report, "ring buffer").available, /'BPF_MAP_TYPE_RINGBUF' val=/.test(btf), report);
    assertEquals(row(report, "attach cookie").available, /'BPF_FUNC_get_attach_cookie' val=/.test(btf), report);
  } else {
    const format = await Deno.readTextFile("/sys/kernel/tracing/events/skb/kfree_skb/format");
    const pairs = [...format.matchAll(/\{\s*\d+\s*,\s*"([A-Z0-9_]+)"\s*\}/g)].filter((p) => p[1] !== "MAX");
    if (pairs.length) count = pairs.length;
  }
  if (count !== undefined) {
    assert(reasons.available, reasons.detail);
    assertMatch(reasons.detail, new RegExp(`^${count} reasons`));
  } else {
    assert(!reasons.available, `this kernel defines no drop reasons, yet: ${reasons.detail}`);
  }
  // filter expressions: libpcap is there (the test set-up installs it); the objects without BTF have no room
  const expr = row(report, "filter expr");
  assertEquals(expr.available, row(report, "BTF").available, expr.detail);
  assertMatch(expr.detail, /^libpcap version \d+\.\d+/);
  // --monitor: netfilter's table and chain where fentry and fexit attach, the retransmission timer where a function
  // probe does
  const mon = row(report, "monitor");
  const fentry = row(report, "fentry").available && row(report, "fexit").available;
  const functions = ["fentry", "kprobe-multi", "kprobe"].some((k) => row(report, k).available);
  assert(mon.available, mon.detail);
  assertMatch(mon.detail, /^drops, congestion states and resets by tracepoints; /);
  assertEquals(/netfilter's drops named by table, chain and hook/.test(mon.detail), fentry, mon.detail);
  assertEquals(/the retransmission timer by /.test(mon.detail), functions, mon.detail);
  await assertNothingLeft("after --check");
});
