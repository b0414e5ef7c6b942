/**
 * The compat build: on a kernel without BTF and without --btf, nettrace loads
 * the objects scripts/build-bpf.sh --compat built from that kernel's headers.
 * The guest suite's bullseye-compat configuration runs these on Debian 11's
 * 5.10 with its BTF hidden, the objects built on the host from Debian 11's
 * linux-headers packages (NETTRACE_EXPECT_COMPAT=1 there: a skip fails).
 */
import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { must, removeStaleNamespaces, withNet } from "../helpers/netns.ts";
import { NettraceRun, runNettrace, traceUntil } from "../helpers/nettrace_process.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";
import { closedPortSynDrop } from "../helpers/drop_reason_column.ts";
import { compatSearchPath, findCompatObjects } from "../../src/bpf/compat_objects.ts";

await removeStaleNamespaces();

const release = Deno.osRelease();
/** Why the compat tests cannot run here: a fact of the machine, printed. */
function compatSkipReason(): string | undefined {
  try {
    Deno.statSync("/sys/kernel/btf/vmlinux");
    return "this kernel has BTF: compat objects are for kernels without it (guest suite: bullseye-compat)";
  } catch { /* no BTF: the case under test */ }
  // where nettrace run from this tree looks (the test's own main module is not main.ts)
  const found = findCompatObjects(
    release,
    compatSearchPath(release, undefined, new URL("../../main.ts", import.meta.url).href),
  );
  if (!("objects" in found)) {
    return `no compat objects for ${release}: ${"problem" in found ? found.problem : "none built"}`;
  }
  return undefined;
}
const skip = compatSkipReason();
if (skip) {
  if (Deno.env.get("NETTRACE_EXPECT_COMPAT") === "1") {
    throw new Error(`NETTRACE_EXPECT_COMPAT=1, but the compat tests cannot run: ${skip}`);
  }
  console.log(`compat tests skipped: ${skip}`);
}

/** A compat test: ignored, with the reason printed above, where the compat case cannot arise. */
function compatTest(name: string, fn: () => Promise<void>): void {
  if (skip) Deno.test({ name, ignore: true, fn: () => {} });
  else kernelTest(name, fn);
}

compatTest("compat: --check names the compat objects built for this kernel", async () => {
  const r = await runNettrace(["--check"]);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /^ {2}BTF\s+no\s+/m);
  assertMatch(
    r.stdout,
    new RegExp(
      `^ {2}compat objects\\s+yes\\s+\\S+/${release.replace(/[.+]/g, "\\$&")} \\(built for ${
        release.replace(/[.+]/g, "\\$&")
      }\\): --drop and lifecycle tracing load them$`,
      "m",
    ),
  );
  await assertNothingLeft();
});

compatTest("compat: --drop through the perf buffer catches a TCP SYN to a closed port", async () => {
  await withNet("compat", async (net) => {
    const args = ["--drop", "-v", "--transport", "perf", "-d", net.v4.b, "-D", "9"];
    const r = await traceUntil(args, () => net.tcpConnect(net.a, net.v4.b, 9), closedPortSynDrop());
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stderr, /^nettrace: no BTF on this kernel: loaded \S+\/drop\.perf\.bpf\.o, built for /m);
    assertMatch(r.stderr, /events through the perf buffer/);
    assertMatch(r.stderr, /end trace\.\.\.\n\d+ events shown, 0 summarized, 0 lost/);
  });
  await assertNothingLeft();
});

compatTest("compat: --drop through the ring buffer, with the stack", async () => {
  await withNet("compatrb", async (net) => {
    const args = ["--drop", "--drop-stack", "--transport", "ringbuf", "-d", net.v4.b, "-p", "udp"];
    const r = await traceUntil(
      args,
      () => net.udpSend(net.a, net.v4.b, 9),
      /UDP: 10\.231\.0\.1:\d+ -> 10\.231\.0\.2:9 len:\d+, (\S+ )?__udp4_lib_rcv\+0x/,
    );
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stderr, /loaded \S+\/drop\.bpf\.o, built for /);
    assertMatch(r.stdout, /^ +-> ip_local_deliver_finish\+0x/m);
  });
  await assertNothingLeft();
});

compatTest("compat: lifecycle tracing follows a ping through tracepoints and kprobes", async () => {
  await withNet("compatlife", async (net) => {
    const args = ["-t", "link-in,link-out,ip-in,icmp,life", "-p", "icmp", "--addr", net.v4.b];
    const run = await NettraceRun.start(args, 120000);
    let r;
    try {
      await must(["ip", "netns", "exec", net.a, "ping", "-c", "1", "-W", "2", net.v4.b]);
      await run.waitFor(() => /ping reply/.test(run.stdout), 10000);
    } finally {
      r = await run.stop();
    }
    assertMatch(r.stderr, /^nettrace: no BTF on this kernel: loaded \S+\/life\.bpf\.o, built for /m);
    assertMatch(r.stderr, /^tracing \d+ points \(\d+ by tracepoint, \d+ by kprobe\)/m);
    assertMatch(r.stdout, /ICMP: 10\.231\.0\.1 -> 10\.231\.0\.2 ping request/);
    assertMatch(r.stdout, /ICMP: 10\.231\.0\.2 -> 10\.231\.0\.1 ping reply/);
    // a tracepoint and function points (kprobes, the skb where the tracer tree says) saw the request
    for (const point of ["net_dev_xmit", "icmp_rcv", "icmp_echo"]) {
      assertMatch(
        r.stdout,
        new RegExp(
          `^\\[\\d+\\.\\d{6}\\] \\[${point}\\s*\\] ICMP: 10\\.231\\.0\\.1 -> 10\\.231\\.0\\.2 ping request`,
          "m",
        ),
      );
    }
  });
  await assertNothingLeft();
});

compatTest("compat: what needs BTF refuses with one line and exit 1, nothing attached", async () => {
  for (
    const [args, line] of [
      [["--drop", "--attach-method", "fentry"], "--attach-method fentry needs BTF, which this kernel does not have"],
      [["--drop", "--attach-method", "tp_btf"], "--attach-method tp_btf needs BTF, which this kernel does not have"],
      [
        ["--all-skb-functions", "--force"],
        "--all-skb-functions finds the functions in the kernel's BTF, which this kernel does not have",
      ],
    ] as const
  ) {
    const r = await runNettrace([...args]);
    assertEquals(r.code, 1, r.stderr);
    assertEquals(r.stdout, "");
    assertEquals(r.stderr, `nettrace: ${line}\n`);
    await assertNothingLeft();
  }
});
