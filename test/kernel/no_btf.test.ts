/**
 * A kernel without BTF, made by hiding it: an empty tmpfs over
 * /sys/kernel/btf in a private mount namespace (or, in the guest suite, for
 * the whole guest). The capability probe says "no BTF" and what that costs,
 * the drop monitor refuses with one line and exit 1 and leaves nothing in the
 * kernel, and with --btf FILE it works again.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { reasonColumn } from "../helpers/drop_reason_column.ts";
import { removeStaleNamespaces, withNet } from "../helpers/netns.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";
import { HIDE_BTF, nettraceCommand, NettraceRun, runNettrace, traceUntil } from "../helpers/nettrace_process.ts";

await removeStaleNamespaces();

const hidden = (args: string[]) => [...HIDE_BTF, ...nettraceCommand(args)];
const RELEASE = Deno.osRelease().replace(/[.+]/g, "\\$&");

kernelTest("no BTF: --check reports it, and what needs it, in plain words", async () => {
  const r = await runNettrace(["--check"], undefined, hidden(["--check"]));
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /^ {2}BTF\s+no\s+\/sys\/kernel\/btf\/vmlinux is missing .*give a BTF file with --btf$/m);
  for (const k of ["tp_btf", "fentry", "fexit"]) {
    assertMatch(r.stdout, new RegExp(`^  ${k}\\s+no\\s+needs BTF, which this kernel does not have$`, "m"));
  }
  // without BTF the probe cannot read the packet: it counts calls while its datagram goes by
  assertMatch(r.stdout, /^ {2}tracepoint\s+yes\s+attached to skb:kfree_skb, fired \d+x around a loopback datagram$/m);
  // drop reason names still come from the tracepoint's format file
  assertMatch(r.stdout, /^ {2}drop reasons\s+yes\s+\d+ reasons \(kfree_skb tracepoint format\)$/m);
  // and what the user can do: no compat objects were built for this kernel here
  assertMatch(
    r.stdout,
    new RegExp(
      `^ {2}compat objects\\s+no\\s+none for ${RELEASE} \\(looked in [^)]+\\): build them with ` +
        `scripts/build-bpf\\.sh --compat /usr/src/linux-headers-${RELEASE}, or give a BTF file with --btf$`,
      "m",
    ),
  );
  await assertNothingLeft();
});

kernelTest("no BTF and no compat objects: --drop and lifecycle tracing refuse with one line and exit 1", async () => {
  for (const args of [["--drop"], ["-p", "icmp"]]) {
    const r = await runNettrace(args, undefined, hidden(args));
    assertEquals(r.code, 1, r.stderr);
    assertEquals(r.stdout, "");
    assertEquals(
      r.stderr,
      "nettrace: this kernel has no BTF (/sys/kernel/btf/vmlinux is missing: CONFIG_DEBUG_INFO_BTF is off); " +
        `give one with --btf FILE (BTFHub has them), or build compat objects for ${Deno.osRelease()} from its ` +
        `headers: scripts/build-bpf.sh --compat /usr/src/linux-headers-${Deno.osRelease()}\n`,
    );
    await assertNothingLeft();
  }
});

/** A BTF file for this kernel: a copy of its own, or the one the guest suite names (the kernel image). */
async function btfFile(): Promise<{ path: string; temporary: boolean } | undefined> {
  const given = Deno.env.get("NETTRACE_TEST_BTF_FILE");
  if (given) return { path: given, temporary: false };
  try {
    const path = await Deno.makeTempFile({ suffix: ".btf" });
    await Deno.copyFile("/sys/kernel/btf/vmlinux", path);
    return { path, temporary: true };
  } catch {
    return undefined;
  }
}

kernelTest("no BTF: --drop --btf FILE traces drops again", async () => {
  const btf = await btfFile();
  assert(btf, "no BTF file: neither /sys/kernel/btf/vmlinux nor NETTRACE_TEST_BTF_FILE");
  try {
    await withNet("nobtf", async (net) => {
      const args = ["--drop", "--btf", btf.path, "-d", net.v4.b, "-p", "udp"];
      const r = await traceUntil(
        args,
        () => net.udpSend(net.a, net.v4.b, 9),
        new RegExp(
          `UDP: 10\\.231\\.0\\.1:\\d+ -> 10\\.231\\.0\\.2:9 len:\\d+, ${reasonColumn("NO_SOCKET")}__udp4_lib_rcv\\+0x`,
        ),
        hidden(args),
      );
      assertEquals(r.code, 0, r.stderr);
    });
  } finally {
    if (btf.temporary) await Deno.remove(btf.path);
  }
});

kernelTest("no BTF: lifecycle tracing and --diag with --btf FILE follow packets again", async () => {
  const btf = await btfFile();
  assert(btf, "no BTF file: neither /sys/kernel/btf/vmlinux nor NETTRACE_TEST_BTF_FILE");
  try {
    await withNet("nobtfl", async (net) => {
      const points = ["-t", "link-out,link-in,life"];
      const life = ["--btf", btf.path, ...points, "-p", "icmp", "--addr", net.v4.b];
      let run = await NettraceRun.start(life, 60000, hidden(life));
      try {
        await net.exec(net.a, ["ping", "-c", "1", "-W", "2", net.v4.b]);
        const seen = await run.waitForLine(
          /\[net_dev_queue\s*\] ICMP: 10\.231\.0\.1 -> 10\.231\.0\.2 ping request/,
          10000,
        );
        const r = await run.stop();
        assert(seen, `no ping request block:\n${r.stdout}\n${r.stderr}`);
        assertEquals(r.code, 0, r.stderr);
      } finally {
        await run.stop();
      }
      const diag = ["--diag", "--btf", btf.path, ...points, "-p", "udp", "--addr", net.v4.b];
      run = await NettraceRun.start(diag, 60000, hidden(diag));
      try {
        await net.udpSend(net.a, net.v4.b, 9);
        const seen = await run.waitFor(() => /ERROR happens in kfree_skb\(life\)/.test(run.stdout), 10000);
        const r = await run.stop();
        assert(seen, `no analysis of the drop:\n${r.stdout}\n${r.stderr}`);
      } finally {
        await run.stop();
      }
    });
  } finally {
    if (btf.temporary) await Deno.remove(btf.path);
  }
  await assertNothingLeft("after lifecycle and --diag with --btf");
});
