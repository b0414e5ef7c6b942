/**
 * nettrace explain on the running kernel: every drop reason it defines has a
 * plain-language text (the guest suite runs this on 6.1 and 6.12 too), and
 * it needs no privileges.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { runNettrace, runNettraceUnprivileged } from "../helpers/nettrace_process.ts";

kernelTest("explain: every drop reason of this kernel is explained", async () => {
  const r = await runNettrace(["explain", "--list"]);
  assertEquals(r.code, 0, r.stderr);
  const m = r.stdout.match(/^(\d+) drop reasons in this kernel \((btf|tracepoint)\), (\d+) explained$/m);
  assert(m, r.stdout);
  assertEquals(
    m[3],
    m[1],
    `reasons without text:\n${r.stdout.split("\n").filter((l) => l.includes("no explanation")).join("\n")}`,
  );
  const one = await runNettrace(["explain", "NETFILTER_DROP"]);
  assertMatch(one.stdout, /^NETFILTER_DROP \(netfilter, value \d+ in this kernel\)\n {2}a netfilter rule/);
  const bad = await runNettrace(["explain", "NO_SUCH_REASON"]);
  assertEquals([bad.code, bad.stderr.trim().split("\n").length], [2, 1]);
});

kernelTest("explain: runs as an unprivileged user (BTF is world-readable)", async () => {
  const r = await runNettraceUnprivileged(["explain", "NO_SOCKET"]);
  if (!r) {
    console.log("skipped: setpriv (util-linux) is not installed");
    return;
  }
  assertEquals(r.code, 0, r.stderr);
  // NO_SOCKET: a reason every kernel with drop reasons has (5.17+)
  assertMatch(r.stdout, /^NO_SOCKET \(socket, value \d+ in this kernel\)\n.*\n {2}advice: .*listens/);
});
