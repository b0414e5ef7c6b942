/**
 * Every attach method of the drop monitor on the real kernel: each one that
 * this kernel has sees the same packet as the tracepoint, a TCP SYN that the
 * test sends to a closed port, with the same reason and location; a method
 * this kernel lacks is refused with one line and exit status 1.
 *
 * On this project's development host only tracepoints attach; the guest
 * suite (test/vm) runs this file on Debian kernels with kprobes and fentry
 * (6.1) and kprobe-multi (6.12), where NETTRACE_EXPECT_ATTACH makes a
 * missing method a failure instead of a skip.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { attachTest, autoDropPoint, capabilities } from "../helpers/capabilities.ts";
import { reasonColumn } from "../helpers/drop_reason_column.ts";
import { kernelTest, kernelTestSkipReason } from "../helpers/kernel_env.ts";
import { removeStaleNamespaces, withNet } from "../helpers/netns.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";
import { NettraceRun, runNettrace } from "../helpers/nettrace_process.ts";

await removeStaleNamespaces();

/** Methods of --attach-method other than auto, with the --check row that says whether each works. */
const METHODS = ["tracepoint", "raw_tracepoint", "tp_btf", "kprobe", "kprobe-multi", "fentry"];

/** The drop line without its timestamp. */
function body(line: string): string {
  return line.replace(/^\[[^\]]*\] /, "");
}

for (const method of METHODS.filter((m) => m !== "tracepoint")) {
  attachTest(
    [method, "tracepoint"],
    `attach: --attach-method ${method} sees the test's TCP SYN as the tracepoint does`,
    async () => {
      await withNet(`am-${method.replace(/_/g, "").slice(0, 6)}`, async (net) => {
        const args = ["--drop", "-v", "-d", net.v4.b, "-p", "tcp", "-D", "9", "-c", "1"];
        const runs = [
          await NettraceRun.start([...args, "--attach-method", "tracepoint"], 60000),
          await NettraceRun.start([...args, "--attach-method", method], 60000),
        ];
        try {
          await net.tcpConnect(net.a, net.v4.b, 9);
          const results = await Promise.all(runs.map((r) => r.exited(20000)));
          const [tp, other] = results.map((r, i) => {
            assert(r, `nettrace did not exit after one event:\n${runs[i].stdout}\n${runs[i].stderr}`);
            assertEquals(r.code, 0, r.stderr);
            return r;
          });
          assertMatch(tp!.stderr, /drops seen at tracepoint skb:kfree_skb/);
          assertMatch(other!.stderr, new RegExp(`drops seen at ${method} `));
          const lines = [tp!, other!].map((r) => r.stdout.split("\n").find((l) => l.includes("-> 10.231.0.2:9")));
          assert(lines[0] && lines[1], `a drop line is missing:\n${tp!.stdout}\n---\n${other!.stdout}`);
          assertMatch(lines[1]!, new RegExp(`flags:S, ${reasonColumn("NO_SOCKET")}tcp_v4_rcv\\+0x[0-9a-f]+$`));
          // same packet (same sequence number), same reason, same location
          assertEquals(body(lines[1]!), body(lines[0]!));
        } finally {
          for (const r of runs) await r.stop();
        }
      });
    },
  );
}

attachTest(
  ["tp_btf"],
  "attach: left to choose, --drop takes kfree_skb typed by BTF (tp_btf) and sees what the tracepoint sees",
  async () => {
    assertEquals(autoDropPoint, "tp_btf kfree_skb");
    await withNet("am-auto", async (net) => {
      const args = ["--drop", "-v", "-d", net.v4.b, "-p", "tcp", "-D", "9", "-c", "1"];
      const runs = [
        await NettraceRun.start([...args, "--attach-method", "tracepoint"], 60000),
        await NettraceRun.start(args, 60000),
      ];
      try {
        await net.tcpConnect(net.a, net.v4.b, 9);
        const [tp, auto] = await Promise.all(runs.map((r) => r.exited(20000)));
        assert(tp && auto, `nettrace did not exit after one event:\n${runs.map((r) => r.stderr).join("\n---\n")}`);
        assertEquals([tp.code, auto.code], [0, 0], auto.stderr);
        assertMatch(auto.stderr, /drops seen at tp_btf kfree_skb/);
        const lines = [tp, auto].map((r) => r.stdout.split("\n").find((l) => l.includes("-> 10.231.0.2:9")));
        assert(lines[0] && lines[1], `a drop line is missing:\n${tp.stdout}\n---\n${auto.stdout}`);
        assertEquals(body(lines[1]!), body(lines[0]!));
      } finally {
        for (const r of runs) await r.stop();
      }
    });
  },
);

const unavailable = METHODS.filter((m) => capabilities.size > 0 && !capabilities.get(m)?.available);
const lacksNone = capabilities.size > 0 && unavailable.length === 0;
if (lacksNone) {
  console.log(`skipped "attach: a method this kernel lacks ...": this kernel has every method (${METHODS.join(", ")})`);
}

Deno.test({
  name: `attach: a method this kernel lacks (${unavailable.join(", ") || "none here"}) exits 1 with one line`,
  ignore: kernelTestSkipReason() !== undefined || lacksNone,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    assert(unavailable.length > 0);
    for (const method of unavailable) {
      const r = await runNettrace(["--drop", "--attach-method", method]);
      assertEquals(r.code, 1, `${method}: ${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      assertEquals(lines.length, 1, `${method}: ${r.stderr}`);
      assertMatch(lines[0], new RegExp(`^nettrace: .*--attach-method ${method}`));
      await assertNothingLeft(method);
    }
  },
});

kernelTest("attach: an unknown method is bad input (exit 2)", async () => {
  const r = await runNettrace(["--drop", "--attach-method", "uprobe"]);
  assertEquals(r.code, 2);
  assertMatch(r.stderr.trim(), /^nettrace: --attach-method: 'uprobe' is not one of auto, tracepoint, /);
});
