/**
 * --diag on the running kernel, one fault per step, all in a routed lab of
 * three namespaces (client, router, server) the test builds: a closed port,
 * iptables DROP in INPUT, an nft table and chain with long names, iptables
 * DROP in FORWARD on the router, DNAT to a closed port, a full qdisc, TTL
 * running out on the router, the reverse path filter, no route, and an XDP
 * program that drops (generic mode, on the server's veth). One nettrace run
 * (filter: the server's address) sees them all; each step checks its
 * packet's ANALYSIS RESULT: level, message, drop reason and advice. These
 * findings come from tracepoints (kfree_skb and its reason, tcp_send_reset,
 * icmp_send), so they hold on every kernel this suite runs on.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { must, removeStaleNamespaces, withNet } from "../helpers/netns.ts";
import { NettraceRun, runNettrace } from "../helpers/nettrace_process.ts";
import { type RoutedLab, withRoutedLab } from "../helpers/routed_lab.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";
import { attachTest } from "../helpers/capabilities.ts";
import { type DiagBlock, diagBlocks } from "../helpers/diag_output.ts";
import { FlowProcess } from "../helpers/tcp_flow_process.ts";
import { kernelReportsDropReasons } from "../helpers/drop_reason_column.ts";
import { parseJsonLines } from "../helpers/json_schema.ts";

await removeStaleNamespaces();

const XDP_SOURCE = new URL("../fixtures/xdp_drop.bpf.c", import.meta.url).pathname;

/** Compiles the XDP fixture (drops everything) with clang; returns the object's path. */
async function buildXdpDrop(): Promise<string> {
  const obj = await Deno.makeTempFile({ suffix: ".o" });
  const arch = Deno.build.arch === "x86_64" ? "x86_64" : "aarch64";
  await must(["clang", "-O2", "-g", "-target", "bpf", `-I/usr/include/${arch}-linux-gnu`, "-c", XDP_SOURCE, "-o", obj]);
  return obj;
}

kernelTest("diag: each fault gets its finding, drop reason and advice (one run, a step per fault)", async (t) => {
  await withRoutedLab("diag", async (lab: RoutedLab) => {
    const { server } = lab.addr;
    // a token bucket on the server's way out, there before nettrace starts (sch_tbf can be a module, whose
    // functions are traced only when loaded at start): a small packet now and then passes, a burst does not.
    // At 64 kbit/s a full-sized fragment's tokens take 190 ms to come back, so however slowly an emulated
    // kernel makes a burst's fragments, the bucket and its 4 kB queue overflow; the queue drains in 0.5 s.
    await lab.must(lab.server, [
      "tc",
      "qdisc",
      "add",
      "dev",
      "veth0",
      "root",
      "tbf",
      "rate",
      "64kbit",
      "burst",
      "4kb",
      "limit",
      "4kb",
    ]);
    const run = await NettraceRun.start(["--diag", "--diag-keep", "--addr", server], 60000);
    try {
      /** Runs traffic and waits for a new packet (with a line that has `on`, when given) whose analysis matches `want`. */
      const expectPacket = async (
        traffic: () => Promise<unknown>,
        want: RegExp,
        what: string,
        on?: string | ((line: string) => boolean),
        kernelSide?: () => Promise<string>,
      ): Promise<DiagBlock> => {
        const hasLine = (b: DiagBlock) =>
          on === undefined || b.lines.some((l) => typeof on === "string" ? l.includes(on) : on(l));
        const before = diagBlocks(run.stdout).length;
        await traffic();
        const found = () =>
          diagBlocks(run.stdout).slice(before).find((b) => b.kind === "packet" && want.test(b.analysis) && hasLine(b));
        await run.waitFor(() => found() !== undefined, 10000);
        const b = found();
        if (!b) {
          const kernel = kernelSide ? `\nwhat the kernel says:\n${await kernelSide()}` : "";
          assert(
            b,
            `${what}: no packet with ${want} in:\n${
              run.stdout.split("\n").slice(-60).join("\n")
            }\n${run.stderr}${kernel}`,
          );
        }
        return b;
      };

      await t.step("TCP to a port nobody listens on: ERROR, NO_SOCKET, check the listener", async () => {
        const b = await expectPacket(
          () => lab.tcpConnect(server, 7100),
          /tcp port is not listened/,
          "closed port",
          `${server}:7100`,
        );
        assertMatch(b.analysis, /ERROR happens in kfree_skb\(life\):\n\ttcp port is not listened: no socket/);
        assertMatch(b.analysis, /drop reason:\n\tNO_SOCKET: /);
        assertMatch(b.analysis, /fix advice:\n\t.*listens on the destination address and port \(ss -ltn\)/);
        assertMatch(
          b.analysis,
          /WARNING happens in (tcp_send_reset|tcp_v4_send_reset)\(tcp-out\):\n\tthe kernel answered this packet with a TCP reset/,
        );
        assert(b.lines.some((l) => l.includes(`${server}:7100`)), b.lines.join("\n"));
      });

      await t.step("iptables DROP in INPUT: ERROR, NETFILTER_DROP, check the rules", async () => {
        await lab.must(lab.server, ["iptables", "-A", "INPUT", "-p", "tcp", "--dport", "7101", "-j", "DROP"]);
        const b = await expectPacket(
          () => lab.tcpConnect(server, 7101),
          /NETFILTER_DROP/,
          "INPUT drop",
          `${server}:7101`,
        );
        assert(b.lines.some((l) => l.includes(`${server}:7101`)), b.lines.join("\n"));
        assertMatch(b.analysis, /ERROR happens in kfree_skb\(life\):\n\tpacket is dropped by netfilter/);
        assertMatch(b.analysis, /fix advice:\n\tcheck your netfilter rules \(iptables -S, nft list ruleset\)/);
      });

      await t.step("nft drop in a table and chain with long names: ERROR, NETFILTER_DROP", async () => {
        await lab.must(lab.server, ["nft", "-f", "-"], {
          input: "table inet nettrace_long_table_name {\n" +
            "  chain nettrace_long_input_chain {\n" +
            "    type filter hook input priority 0; policy accept;\n" +
            "    udp dport 7102 drop\n  }\n}\n",
        });
        const b = await expectPacket(() => lab.udpSend(server, 7102), /NETFILTER_DROP/, "nft drop", `${server}:7102`);
        assert(b.lines.some((l) => l.includes(`${server}:7102`)), b.lines.join("\n"));
        assertMatch(b.analysis, /ERROR happens in kfree_skb\(life\):\n\tpacket is dropped by netfilter/);
      });

      await t.step("iptables DROP in FORWARD on the router: ERROR, NETFILTER_DROP", async () => {
        await lab.must(lab.router, ["iptables", "-A", "FORWARD", "-p", "tcp", "--dport", "7103", "-j", "DROP"]);
        const b = await expectPacket(
          () => lab.tcpConnect(server, 7103),
          /NETFILTER_DROP/,
          "FORWARD drop",
          `${server}:7103`,
        );
        assert(b.lines.some((l) => l.includes(`${server}:7103`)), b.lines.join("\n"));
        assertMatch(b.analysis, /ERROR happens in kfree_skb\(life\):\n\tpacket is dropped by netfilter/);
      });

      await t.step("DNAT in PREROUTING to a closed port: WARNING NAT happens, then NO_SOCKET", async () => {
        await lab.must(lab.server, [
          "iptables",
          "-t",
          "nat",
          "-A",
          "PREROUTING",
          "-p",
          "tcp",
          "--dport",
          "7104",
          "-j",
          "DNAT",
          "--to-destination",
          `${server}:7105`,
        ]);
        const b = await expectPacket(() => lab.tcpConnect(server, 7104), /NAT happens/, "DNAT", `${server}:7104`);
        assertMatch(
          b.analysis,
          /WARNING happens in \w+\([\w-]+\):\n\tNAT happens \(packet address will change\): the packet's address or port is rewritten\n {4}fix advice:\n\tcheck your NAT rules/,
        );
        assertMatch(b.analysis, /drop reason:\n\tNO_SOCKET/);
        assert(
          b.lines.findIndex((l) => l.includes(`${server}:7104`)) >= 0 &&
            b.lines.slice(b.lines.findIndex((l) => l.includes(`${server}:7104`))).some((l) =>
              l.includes(`${server}:7105`)
            ),
          b.lines.join("\n"),
        );
      });

      await t.step("the application closes with unread data: a TCP reset leaves the server", async () => {
        const srv = new FlowProcess(lab.server, ["reset", server, "7106"]);
        try {
          await srv.ready("listening");
          const b = await expectPacket(
            () =>
              lab.exec(lab.client, [
                "timeout",
                "3",
                "bash",
                "-c",
                `exec 3<>/dev/tcp/${server}/7106; echo hello >&3; sleep 1.5`,
              ]),
            /a TCP reset leaves this host/,
            "application reset",
            // the reset's own line: other packets can share its block (see below)
            (l) => l.includes(`${server}:7106 -> `) && /flags:A?R[^\n]*\*a TCP reset leaves this host\*/.test(l),
          );
          // on tracepoints alone an skb freed without one (kfree_skb_partial) keeps its context until the
          // timeout, and a new skb at the same address joins it: look for the reset's own line
          assert(
            b.lines.some((l) =>
              l.includes(`${server}:7106 -> `) && /flags:A?R[^\n]*\*a TCP reset leaves this host\*/.test(l)
            ),
            b.lines.join("\n"),
          );
          assertMatch(b.analysis, /WARNING happens in net_dev_queue\(link-out\):\n\ta TCP reset leaves this host/);
        } finally {
          await srv.stop();
        }
      });

      await t.step("a qdisc that is full (tbf on the server's way out): ERROR, traffic control drops", async () => {
        // one 60000-byte datagram (one write): 41 fragments at once, far more than the bucket and queue hold
        const burst = `dd if=/dev/zero bs=60000 count=1 status=none > /dev/udp/${lab.addr.client}/7110`;
        const b = await expectPacket(
          () => lab.exec(lab.server, ["bash", "-c", burst]),
          /dropped by traffic control|the qdisc refused the packet/,
          "qdisc drop",
          (l) => l.includes(`UDP: ${server}`) && l.includes(lab.addr.client),
          () => lab.must(lab.server, ["tc", "-s", "qdisc", "show", "dev", "veth0"]),
        );
        // the free's reason where the kernel gives one (QDISC_DROP); where functions are traced, tbf_enqueue's return
        assertMatch(
          b.analysis,
          /ERROR happens in (kfree_skb\(life\):\n\tpacket is dropped by traffic control \(a qdisc or a tc filter\)[^]*drop reason:\n\tQDISC_DROP|tbf_enqueue\(tc\):\n\tthe qdisc refused the packet)/,
        );
        assertMatch(b.analysis, /fix advice:\n\tcheck the qdisc/);
      });

      await t.step("TTL running out on the router: the ICMP error and the drop", async () => {
        const b = await expectPacket(
          () => lab.exec(lab.client, ["ping", "-c", "1", "-t", "1", "-W", "1", server]),
          /icmp_send/,
          "TTL",
          // its own echo request: an earlier step's late block can carry an icmp_send too
          (l) => l.includes(`-> ${server} ping request`),
        );
        assertMatch(b.analysis, /WARNING happens in icmp_send\(icmp\):\n\tthe kernel answered with an ICMP error/);
        assertMatch(
          b.analysis,
          /ERROR happens in kfree_skb\(life\):\n\tbad IP header, or its TTL ran out[^\n]*\n {4}location:\n\t\S+\n {4}drop reason:\n\tIP_INHDR/,
        );
        assertMatch(b.analysis, /fix advice:\n\tif the TTL ran out, look for a routing loop/);
      });

      await t.step("reverse path filter on the server: ERROR, IP_RPFILTER, rp_filter advice", async () => {
        for (
          const cmd of [
            ["ip", "link", "add", "rpf0", "type", "veth", "peer", "name", "rpf1"],
            ["ip", "link", "set", "rpf1", "up"],
            ["ip", "link", "set", "rpf0", "up"],
            ["ip", "route", "add", `${lab.addr.client}/32`, "dev", "rpf0"],
            ["sysctl", "-qw", "net.ipv4.conf.all.rp_filter=1"],
            ["sysctl", "-qw", "net.ipv4.conf.veth0.rp_filter=1"],
          ]
        ) await lab.must(lab.server, cmd);
        const b = await expectPacket(
          () => lab.exec(lab.client, ["ping", "-c", "1", "-W", "1", server]),
          /IP_RPFILTER/,
          "rp_filter",
        );
        assertMatch(
          b.analysis,
          /ERROR happens in kfree_skb\(life\):\n\tsource address valid failed \(properly rp_filter fail\): the reverse path filter/,
        );
        assertMatch(b.analysis, /fix advice:\n\t.*rp_filter/);
      });

      await t.step("no route on the router: ERROR, the ICMP error and a no-route reason", async () => {
        await lab.must(lab.router, ["ip", "route", "add", "unreachable", `${server}/32`]);
        const b = await expectPacket(
          () => lab.exec(lab.client, ["ping", "-c", "1", "-W", "1", server]),
          /no route to the destination/,
          "no route",
        );
        // the kernel gives no specific reason here (NOT_SPECIFIED, or a no-route reason on some
        // kernels): the rule knows the free's location, ip_error
        assertMatch(b.analysis, /ERROR happens in kfree_skb\(life\):\n\tno route to the destination/);
        assertMatch(b.analysis, / {4}location:\n\tip_error\+0x[0-9a-f]+\n {4}drop reason:\n\t[A-Z_]+/);
        assertMatch(b.analysis, /fix advice:\n\tcheck the routing table \(ip route get DST/);
        assertMatch(b.analysis, /WARNING happens in icmp_send\(icmp\)/);
      });
      await t.step("an XDP program that drops, in generic mode on the server's veth: ERROR, XDP", async () => {
        await lab.must(lab.router, ["ip", "route", "del", "unreachable", `${server}/32`]); // the step before
        const obj = await buildXdpDrop();
        try {
          await lab.must(lab.server, ["ip", "link", "set", "dev", "veth0", "xdpgeneric", "obj", obj, "sec", "xdp"]);
        } finally {
          await Deno.remove(obj);
        }
        const b = await expectPacket(
          () => lab.exec(lab.client, ["ping", "-c", "1", "-W", "1", server]),
          /packet is dropped by XDP program/,
          "XDP",
        );
        assertMatch(b.analysis, /ERROR happens in kfree_skb\(life\):\n\tpacket is dropped by XDP program/);
        // the reason is XDP where the kernel gives one, else the location tells (do_xdp_generic)
        assertMatch(
          b.analysis,
          /location:\n\t(do_xdp_generic|netif_receive_generic_xdp)\+0x[0-9a-f]+\n {4}drop reason:\n\t(XDP|NOT_SPECIFIED): /,
        );
        assertMatch(b.analysis, /fix advice:\n\tcheck the XDP program attached to the receiving device/);
      });
    } finally {
      await run.stop();
    }
  });
  await assertNothingLeft("after --diag");
});

kernelTest("diag: a malformed --rules file is one line naming file, line and field, exit 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/my_rules.yaml`;
    await Deno.writeTextFile(
      file,
      "- point: kfree_skb\n  level: ERROR\n  message: mine\n- point: kfree_skb\n  levl: INFO\n",
    );
    const r = await runNettrace(["--diag", "-p", "tcp", "--rules", file]);
    assert(r.code === 2, `exit ${r.code}: ${r.stderr}`);
    assertMatch(r.stderr.trim(), new RegExp(`^nettrace: bad rule file: ${file}:5: levl: unknown field`));
    assert(!r.stderr.trim().includes("\n"), r.stderr);
    const unread = await runNettrace(["--diag", "-p", "tcp", "--rules", `${dir}/none.yaml`]);
    assert(unread.code === 2 && /--rules '.*none\.yaml': no such file$/m.test(unread.stderr), unread.stderr);
    const alone = await runNettrace(["-p", "tcp", "--rules", file]);
    assert(alone.code === 2 && /--rules FILE is for --diag/.test(alone.stderr), alone.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await assertNothingLeft("after bad rule files");
});

/** Whether a command is installed. */
function installed(cmd: string): boolean {
  return new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" }).outputSync().success;
}

attachTest(
  ["fentry"],
  "diag: netfilter details where functions can be traced: family and hook, nft table and chain in full, the iptables table, --hooks",
  async () => {
    await withRoutedLab("nfd", async (lab: RoutedLab) => {
      const { server } = lab.addr;
      // the rules exist before nettrace starts: nf_tables and x_tables are modules on some
      // kernels, and their types must be there when the program is loaded
      await lab.must(lab.server, ["nft", "-f", "-"], {
        input: "table inet nettrace_long_table_name {\n" +
          "  chain nettrace_long_input_chain {\n" +
          "    type filter hook input priority 0; policy accept;\n" +
          "    udp dport 7202 drop\n  }\n}\n",
      });
      // Debian's iptables package has both; scripts/setup.sh --test installs it
      assert(installed("iptables-legacy"), "iptables-legacy is missing: scripts/setup.sh --test installs iptables");
      await lab.must(lab.router, ["iptables-legacy", "-A", "FORWARD", "-p", "tcp", "--dport", "7203", "-j", "DROP"]);
      const run = await NettraceRun.start(
        ["--diag", "--diag-keep", "--hooks", "-t", "netfilter,life", "--addr", server],
        120000,
      );
      try {
        await lab.udpSend(server, 7202);
        const nft = () => diagBlocks(run.stdout).find((b) => b.lines.some((l) => l.includes(":7202")) && b.analysis);
        await run.waitFor(() => nft() !== undefined, 15000);
        const b = nft();
        assert(b, `no analysed packet to :7202:\n${run.stdout}\n${run.stderr}`);
        const text = b.lines.join("\n");
        assertMatch(
          text,
          /\[nf_hook_slow\s*\] UDP: .* \*ipv4 in chain: INPUT, verdict: drop\* \*packet is dropped by netfilter \(NF_DROP\)\*/,
        );
        assertMatch(
          text,
          /\[nft_do_chain_inet\s*\] UDP: .* \*nft table:nettrace_long_table_name, chain:nettrace_long_input_chain, verdict: drop\* \*packet is dropped by iptables\/iptables-nft \(an nftables rule/,
        );
        assertMatch(
          b.analysis,
          /ERROR happens in nf_hook_slow\(netfilter\):\n\tpacket is dropped by netfilter \(NF_DROP\)\n\n {4}following hook functions are blamed:\n(\t\w+\n)*\tnft_do_chain_inet\n/,
        );
        assertMatch(b.analysis, /drop reason:\n\tNETFILTER_DROP/);
        await lab.tcpConnect(server, 7203);
        const ipt = () => diagBlocks(run.stdout).find((x) => x.lines.some((l) => l.includes(":7203")) && x.analysis);
        await run.waitFor(() => ipt() !== undefined, 15000);
        const c = ipt();
        assert(c, `no analysed packet to :7203:\n${run.stdout}`);
        assertMatch(
          c.lines.join("\n"),
          /\[ipt_do_table\s*\] TCP: .* \*iptables table:filter, ipv4 in chain: FORWARD, verdict: drop\* \*packet is dropped by iptables\/iptables-legacy\*/,
        );
      } finally {
        await run.stop();
      }
    });
    await assertNothingLeft("after --diag --hooks");
  },
);

kernelTest(
  "diag: --rules adds the user's rules before the shipped ones (TCP state, a reason); --diag-quiet; --diag stops after an ERROR",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/my_rules.yaml`;
      await Deno.writeTextFile(
        file,
        [
          "- point: net_dev_queue",
          "  tcp_state: SYN_SENT",
          "  level: WARN",
          "  message: a connect() is in progress (my rule)",
          "- point: kfree_skb",
          "  reason: NO_SOCKET",
          "  proto: tcp",
          "  level: ERROR",
          "  message: nobody listens here (my rule)",
          "  advice: start the service (my advice)",
          "",
        ].join("\n"),
      );
      await withNet("diagr", async (net) => {
        const run = await NettraceRun.start(
          ["--diag", "--diag-quiet", "--rules", file, "-t", "link-out,link-in,life", "--addr", net.v4.b],
          60000,
        );
        try {
          // a normal ping: INFO findings only, so --diag-quiet prints neither its request nor its reply
          await must(["ip", "netns", "exec", net.a, "ping", "-c", "1", "-W", "2", net.v4.b]);
          await net.tcpConnect(net.a, net.v4.b, 7300);
          // --diag without --diag-keep: it ends by itself after the first packet with an ERROR
          const r = await run.exited(60000);
          assert(r, `it did not end after the packet with an ERROR:\n${run.stdout}\n${run.stderr}`);
          assertEquals(r.code, 0, r.stderr);
          assertMatch(r.stdout, /\[net_dev_queue\s*\] TCP: [^\n]*flags:S \*a connect\(\) is in progress \(my rule\)\*/);
          assertMatch(
            r.stdout,
            /ERROR happens in kfree_skb\(life\):\n\tnobody listens here \(my rule\)\n {4}location:\n\ttcp_v4_rcv\+0x[0-9a-f]+\n {4}drop reason:\n\tNO_SOCKET: [^\n]*\n {4}fix advice:\n\tstart the service \(my advice\)/,
          );
          assert(!r.stdout.includes("ICMP"), `--diag-quiet printed a normal packet:\n${r.stdout}`);
          assertMatch(r.stderr, /end trace\.\.\.\n1 packets shown/);
        } finally {
          await run.stop();
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

kernelTest(
  "diag: a closed TCP port, a closed UDP port and an iptables DROP: findings from the drop reason, or (kernels before 5.17) from where the skb was freed",
  async (t) => {
    const reasons = kernelReportsDropReasons();
    console.log(`this kernel ${reasons ? "names drop reasons" : "names no drop reasons: findings by location"}`);
    await withNet("diagloc", async (net) => {
      await must([
        "ip",
        "netns",
        "exec",
        net.b,
        "iptables",
        "-A",
        "INPUT",
        "-p",
        "tcp",
        "--dport",
        "7403",
        "-j",
        "DROP",
      ]);
      const run = await NettraceRun.start(
        ["--diag", "--diag-keep", "-t", "link-out,link-in,life", "--addr", net.v4.b],
        60000,
      );
      try {
        /** Sends traffic, waits for the packet's ANALYSIS RESULT (a packet to `port`, matching `want`), checks it. */
        const expectFinding = async (traffic: () => Promise<void>, port: number, want: RegExp) => {
          const before = diagBlocks(run.stdout).length;
          await traffic();
          const found = () =>
            diagBlocks(run.stdout).slice(before).find((b) =>
              b.kind === "packet" && b.lines.some((l) => l.includes(`${net.v4.b}:${port}`)) && want.test(b.analysis)
            );
          await run.waitFor(() => found() !== undefined, 10000);
          const b = found();
          assert(b, `no packet to port ${port} with ${want} in:\n${run.stdout.split("\n").slice(-40).join("\n")}`);
          if (reasons) {
            assert(!b.analysis.includes("not available on this kernel"), b.analysis);
          } else {
            assert(!b.analysis.includes("drop reason:"), b.analysis);
            assertMatch(
              b.analysis,
              /\nnot available on this kernel: \d+ rules on drop reasons \(kernels before 5\.17 name none\)/,
            );
          }
        };
        await t.step("TCP SYN to a closed port", () =>
          expectFinding(
            () => net.tcpConnect(net.a, net.v4.b, 7401),
            7401,
            reasons
              ? /ERROR happens in kfree_skb\(life\):\n\ttcp port is not listened[^]*drop reason:\n\tNO_SOCKET: /
              : /ERROR happens in kfree_skb\(life\):\n\tTCP dropped the SYN on receive: most often no socket listens[^\n]*\n {4}location:\n\ttcp_v4_rcv\+0x[0-9a-f]+\n {4}fix advice:\n\tcheck that the service listens/,
          ));
        await t.step("UDP to a closed port", () =>
          expectFinding(
            () => net.udpSend(net.a, net.v4.b, 7402),
            7402,
            reasons
              ? /ERROR happens in kfree_skb\(life\):\n\tUDP port is not open[^]*drop reason:\n\tNO_SOCKET: /
              : /ERROR happens in kfree_skb\(life\):\n\tUDP dropped the datagram on receive[^\n]*\n {4}location:\n\t(__udp4_lib_rcv|udp_rcv)\+0x[0-9a-f]+\n/,
          ));
        await t.step("an iptables DROP in INPUT", () =>
          expectFinding(
            () => net.tcpConnect(net.a, net.v4.b, 7403),
            7403,
            reasons
              ? /ERROR happens in kfree_skb\(life\):\n\tpacket is dropped by netfilter \(an iptables or nftables rule\)[^]*drop reason:\n\tNETFILTER_DROP/
              : /ERROR happens in kfree_skb\(life\):\n\tpacket is dropped by netfilter \(freed where a hook's verdict is NF_DROP\)\n {4}location:\n\tnf_hook_slow\+0x[0-9a-f]+\n/,
          ));
      } finally {
        await run.stop();
      }
    });
    await assertNothingLeft("after --diag by location");
  },
);

kernelTest("diag: --json gives a closed UDP port's packet block with its analysis, as the schema says", async () => {
  await withNet("diagjson", async (net) => {
    const run = await NettraceRun.start(
      ["--diag", "--diag-keep", "--json", "-t", "link-out,link-in,life", "--addr", net.v4.b, "-p", "udp"],
      60000,
    );
    let r;
    try {
      await net.udpSend(net.a, net.v4.b, 7404);
      await run.waitFor(() => /"analysis"/.test(run.stdout), 10000);
    } finally {
      r = await run.stop();
    }
    const records = parseJsonLines(r.stdout);
    const block = records.find((o) => o.type === "packet" && o.analysis);
    assert(block, `no packet block with an analysis:\n${r.stdout}`);
    const events = block.events as Record<string, unknown>[];
    const p = events[0].packet as Record<string, unknown>;
    assertEquals([p.daddr, p.protocol, p.dport], [net.v4.b, "UDP", 7404]);
    const last = events[events.length - 1];
    assertEquals(last.point, "kfree_skb");
    assertMatch(last.location as string, /^(__udp4_lib_rcv|udp_rcv)\+0x[0-9a-f]+$/);
    const finding = ((block.analysis as Record<string, unknown>).findings as Record<string, unknown>[])[0];
    assertEquals([finding.level, finding.point], ["ERROR", "kfree_skb"]);
    if (kernelReportsDropReasons()) {
      assertEquals([last.reason, finding.reason], ["NO_SOCKET", "NO_SOCKET"]);
    } else {
      assertMatch(finding.message as string, /UDP dropped the datagram on receive/);
    }
    assertEquals(records[records.length - 1].type, "summary");
  });
});
