/**
 * nettrace --drop against the real kernel: packets dropped in test namespaces
 * joined by veth, filters applied in the kernel.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";
import { must, removeStaleNamespaces, VethPair, withNet } from "../helpers/netns.ts";
import { LAUNCHER, NettraceRun, runNettrace, traceUntil } from "../helpers/nettrace_process.ts";
import {
  closedPortSynDrop,
  kernelReportsDropReasons,
  netfilterDropCause,
  reasonColumn,
} from "../helpers/drop_reason_column.ts";
import { parseJsonLines } from "../helpers/json_schema.ts";

await removeStaleNamespaces();

kernelTest("drop: TCP SYN to a closed port is NO_SOCKET at tcp_v4_rcv", async () => {
  await withNet("tcp4", async (net) => {
    const r = await traceUntil(
      ["--drop", "-d", net.v4.b, "-D", "9"],
      () => net.tcpConnect(net.a, net.v4.b, 9),
      /TCP: 10\.231\.0\.1:\d+ -> 10\.231\.0\.2:9 /,
    );
    const line = r.stdout.split("\n").find((l) => l.includes("-> 10.231.0.2:9"))!;
    assertMatch(
      line,
      new RegExp(
        `^\\[\\d+\\.\\d{6}\\] TCP: 10\\.231\\.0\\.1:\\d+ -> 10\\.231\\.0\\.2:9 seq:\\d+, ack:0, flags:S, ${
          reasonColumn("NO_SOCKET")
        }tcp_v4_rcv\\+0x[0-9a-f]+$`,
      ),
    );
    assertEquals(r.code, 0);
    assertMatch(r.stderr, /end trace\.\.\.\n\d+ events shown, 0 summarized, 0 lost/);
  });
});

kernelTest(
  "drop: through a perf buffer (--transport perf), either reader, the SYN drop reads as through the ring",
  async () => {
    await withNet("perf", async (net) => {
      for (const reader of ["mmap", "callback"]) {
        const r = await traceUntil(
          ["--drop", "-v", "--transport", "perf", "--ring-reader", reader, "-d", net.v4.b, "-D", "9"],
          () => net.tcpConnect(net.a, net.v4.b, 9),
          closedPortSynDrop(),
        );
        assertEquals(r.code, 0, r.stderr);
        assertMatch(r.stderr, /events through the perf buffer/);
        assertMatch(r.stderr, /end trace\.\.\.\n\d+ events shown, 0 summarized, 0 lost/);
      }
    });
  },
);

kernelTest("drop: IPv6 TCP SYN to a closed port is NO_SOCKET at tcp_v6_rcv", async () => {
  await withNet("tcp6", async (net) => {
    const r = await traceUntil(
      ["--drop", "--daddr", net.v6.b, "--dport", "9"],
      () => net.tcpConnect(net.a, net.v6.b, 9),
      /TCP: \[fd00:231::1\]:\d+ -> \[fd00:231::2\]:9 /,
    );
    const line = r.stdout.split("\n").find((l) => l.includes("-> [fd00:231::2]:9"))!;
    assertMatch(line, new RegExp(`flags:S, ${reasonColumn("NO_SOCKET")}tcp_v6_rcv\\+0x[0-9a-f]+$`));
  });
});

kernelTest("drop: an nft DROP rule gives NETFILTER_DROP", async () => {
  await withNet("nft", async (net) => {
    await must(["ip", "netns", "exec", net.b, "nft", "-f", "-"], {
      input:
        "table inet nettrace_test {\n chain input {\n  type filter hook input priority 0;\n  tcp dport 4444 drop\n }\n}\n",
    });
    const r = await traceUntil(
      ["--drop", "-p", "tcp", "-D", "4444"],
      () => net.tcpConnect(net.a, net.v4.b, 4444, 1),
      new RegExp(`-> 10\\.231\\.0\\.2:4444 .*${netfilterDropCause()}`),
    );
    assertMatch(
      r.stdout,
      new RegExp(
        `TCP: 10\\.231\\.0\\.1:\\d+ -> 10\\.231\\.0\\.2:4444 seq:\\d+, ack:0, flags:S, ${netfilterDropCause()}`,
      ),
    );
  });
});

kernelTest("drop: an iptables DROP rule gives NETFILTER_DROP", async () => {
  await withNet("ipt", async (net) => {
    await must(["ip", "netns", "exec", net.b, "iptables", "-A", "INPUT", "-p", "udp", "--dport", "5555", "-j", "DROP"]);
    const r = await traceUntil(
      ["--drop", "-p", "udp", "-P", "5555"],
      () => net.udpSend(net.a, net.v4.b, 5555),
      new RegExp(`UDP: 10\\.231\\.0\\.1:\\d+ -> 10\\.231\\.0\\.2:5555 .*${netfilterDropCause()}`),
    );
    assertEquals(r.code, 0);
  });
});

kernelTest("drop: UDP to a closed port is NO_SOCKET", async () => {
  await withNet("udp", async (net) => {
    const r = await traceUntil(
      ["--drop", "-p", "udp", "--addr", net.v4.a],
      () => net.udpSend(net.a, net.v4.b, 7777),
      new RegExp(
        `UDP: 10\\.231\\.0\\.1:\\d+ -> 10\\.231\\.0\\.2:7777 len:22, ${reasonColumn("NO_SOCKET")}__udp4_lib_rcv\\+0x`,
      ),
    );
    assertEquals(r.code, 0);
  });
});

kernelTest("drop: with two flows dropping at once, a port filter shows only its flow", async () => {
  await withNet("two", async (net) => {
    const run = await NettraceRun.start(["--drop", "-d", net.v4.b, "-D", "7001"]);
    try {
      // one after the other, the filtered flow last each time: each drop happens before its send returns
      // (veth delivers in the sender's softirq), and the ring keeps the kernel's order, so once the third
      // 7001 line is in, a 7002 drop let through by the filter would have been printed before it
      for (let i = 0; i < 3; i++) {
        await net.udpSend(net.a, net.v4.b, 7002);
        await net.udpSend(net.a, net.v4.b, 7001);
      }
      const filtered = () => run.lines.filter((l) => l.includes("-> 10.231.0.2:7001 ")).length;
      assert(await run.waitFor(() => filtered() >= 3, 5000), `expected 3 lines of :7001, got:\n${run.stdout}`);
      const r = await run.stop();
      const lines = r.stdout.trim().split("\n");
      assertEquals(lines.length, 3, r.stdout);
      for (const l of lines) assertMatch(l, /-> 10\.231\.0\.2:7001 /);
    } finally {
      await run.stop();
    }
  });
});

kernelTest("drop: -c 1 exits by itself after one event", async () => {
  await withNet("count", async (net) => {
    const run = await NettraceRun.start(["--drop", "-c", "1", "-d", net.v4.b]);
    try {
      for (let i = 0; i < 3; i++) await net.udpSend(net.a, net.v4.b, 9);
      const r = await run.exited(10000);
      assert(r, "nettrace -c 1 did not exit");
      assertEquals(r.code, 0);
      assertEquals(r.stdout.trim().split("\n").length, 1, r.stdout);
      assertMatch(r.stderr, /end trace\.\.\.\n1 events shown/);
    } finally {
      await run.stop();
    }
  });
});

kernelTest("drop: --netns keeps one namespace's drops only", async () => {
  const one = await VethPair.create("nsa");
  try {
    // b answers from its own namespace; a SYN from b to a is dropped in a's namespace.
    const run = await NettraceRun.start(["--drop", "--netns", String(one.netnsInode(one.b)), "-p", "tcp"]);
    try {
      await one.tcpConnect(one.b, one.v4.a, 9); // dropped in a: must not show
      await one.tcpConnect(one.a, one.v4.b, 9); // dropped in b, later: the marker that must show
      // the ring keeps the kernel's order: once the marker is printed, the earlier drop would have been
      assert(await run.waitForLine(/-> 10\.231\.0\.2:9 /), `no drop from b's namespace:\n${run.stdout}`);
      const r = await run.stop();
      assert(!r.stdout.includes("-> 10.231.0.1:9 "), `a drop of another namespace was shown:\n${r.stdout}`);
    } finally {
      await run.stop();
    }
  } finally {
    await one.destroy();
  }
});

kernelTest("drop: --detail shows skb, cpu, interface, netns and command; --date shows the date", async () => {
  await withNet("detail", async (net) => {
    const ino = net.netnsInode(net.b);
    const r = await traceUntil(
      ["--drop", "--detail", "--date", "-d", net.v4.b, "-D", "9"],
      () => net.udpSend(net.a, net.v4.b, 9),
      /UDP: /,
    );
    const line = r.stdout.split("\n").find((l) => l.includes("UDP: "))!;
    assertMatch(
      line,
      new RegExp(
        `^\\[\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{6}\\] \\[[0-9a-f]+\\]\\[cpu:\\d+ *\\]\\[veth0\\]\\[ns:${ino}\\]\\[pid:\\d+ *\\]\\[[^\\]]*\\] UDP: `,
      ),
    );
    const year = new Date().getFullYear();
    assert(line.startsWith(`[${year}-`), line);
  });
});

kernelTest("drop: --json prints each drop, then the summary, as objects that follow the schema", async () => {
  await withNet("json", async (net) => {
    const args = ["--drop", "--json", "--drop-stack", "-d", net.v4.b, "-p", "udp", "-D", "9", "-c", "2"];
    const run = await NettraceRun.start(args);
    let r;
    try {
      await net.udpSend(net.a, net.v4.b, 9);
      await net.udpSend(net.a, net.v4.b, 9);
      r = await run.exited(20000);
    } finally {
      await run.stop();
    }
    assert(r, `nettrace did not exit after two drops:\n${run.stdout}\n${run.stderr}`);
    assertEquals(r.code, 0, r.stderr);
    const records = parseJsonLines(r.stdout);
    assertEquals(records.map((o) => o.type), ["drop", "drop", "summary"], r.stdout);
    for (const d of records.slice(0, 2)) {
      const p = d.packet as Record<string, unknown>;
      assertEquals([p.saddr, p.daddr, p.protocol, p.dport], [net.v4.a, net.v4.b, "UDP", 9]);
      assertEquals(d.reason, kernelReportsDropReasons() ? "NO_SOCKET" : null);
      assertMatch(d.location as string, /^__udp4_lib_rcv\+0x[0-9a-f]+$/);
      assertEquals(d.netns, net.netnsInode(net.b));
      assert((d.stack as string[]).some((f) => f.startsWith("ip_local_deliver")), JSON.stringify(d.stack));
    }
    assertEquals(records[2], {
      type: "summary",
      v: 1,
      shown: 2,
      summarized: 0,
      lost: 0,
      limited: 0,
      not_followed: 0,
      storm_full: 0,
    });
    assertMatch(r.stderr, /end trace\.\.\.\n2 events shown, 0 summarized, 0 lost/);
  });
});

kernelTest(
  "drop: -o FILE gets the lines (0600, appended); a symbolic link is refused, exit 2, nothing attached",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/drops.txt`;
      await Deno.writeTextFile(file, "kept\n", { mode: 0o600 });
      await withNet("outfile", async (net) => {
        const args = ["--drop", "-o", file, "-d", net.v4.b, "-p", "udp", "-D", "9", "-c", "1"];
        const run = await NettraceRun.start(args);
        let r;
        try {
          await net.udpSend(net.a, net.v4.b, 9);
          r = await run.exited(20000);
        } finally {
          await run.stop();
        }
        assert(r, `nettrace did not exit after one drop: ${run.stderr}`);
        assertEquals([r.code, r.stdout], [0, ""], r.stderr);
        const lines = (await Deno.readTextFile(file)).split("\n");
        assertEquals(lines[0], "kept");
        assertMatch(lines[1], /UDP: 10\.231\.0\.1:\d+ -> 10\.231\.0\.2:9 len:\d+, /);
        assertEquals((await Deno.stat(file)).mode! & 0o777, 0o600);
      });
      await Deno.symlink("/etc/passwd", `${dir}/link`);
      const r = await runNettrace(["--drop", "-o", `${dir}/link`]);
      assertEquals(r.code, 2, r.stderr);
      assertEquals(r.stderr, `nettrace: -o '${dir}/link': a symbolic link: nettrace does not write through one\n`);
      await assertNothingLeft();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

/** bash names itself (ESC [31m, a CR, a backslash), then sends from its own process, in whose context the drop happens */
const NAME_AND_SEND = "printf '\\033[31mev\\ril\\\\' > /proc/self/comm && echo x";

kernelTest("drop: a process named with terminal escapes is printed escaped (--detail)", async () => {
  await withNet("esc", async (net) => {
    const send = async () => {
      await must(["ip", "netns", "exec", net.a, "bash", "-c", NAME_AND_SEND + ` > /dev/udp/${net.v4.b}/9`]);
    };
    const r = await traceUntil(["--drop", "--detail", "-d", net.v4.b, "-D", "9"], send, /UDP: /);
    const line = r.stdout.split("\n").find((l) => l.includes("UDP: "))!;
    assert(line.includes("][\\e[31mev\\ril\\\\] UDP: "), JSON.stringify(line));
    // no byte of the output but the line ends is a control character
    const controls = [...r.stdout].filter((c) => c !== "\n" && (c < " " || c === "\u007f"));
    assertEquals(controls, [], JSON.stringify(r.stdout));
  });
});

kernelTest("drop: --drop-stack prints the kernel stack of each drop", async () => {
  await withNet("stack", async (net) => {
    const r = await traceUntil(
      ["--drop-stack", "-d", net.v4.b, "-D", "9", "-p", "udp"],
      () => net.udpSend(net.a, net.v4.b, 9),
      /-> __udp4_lib_rcv\+0x/,
    );
    assertMatch(
      r.stdout,
      new RegExp(
        `len:22, ${reasonColumn("NO_SOCKET")}__udp4_lib_rcv\\+0x[0-9a-f]+\nCall Stack:\n( {4}-> \\S+\\+0x[0-9a-f]+\n)+`,
      ),
    );
  });
});

kernelTest("drop: ICMP echo dropped by nft shows type, id and seq, with either ring reader", async () => {
  await withNet("icmp", async (net) => {
    await must(["ip", "netns", "exec", net.b, "nft", "-f", "-"], {
      input:
        "table inet nettrace_test {\n chain input {\n  type filter hook input priority 0;\n  icmp type echo-request drop\n }\n}\n",
    });
    for (const reader of ["mmap", "callback"]) {
      const r = await traceUntil(
        ["--drop", "-p", "icmp", "--ring-reader", reader],
        () => net.exec(net.a, ["ping", "-c", "1", "-W", "1", net.v4.b]).then(() => {}),
        new RegExp(`ICMP: 10\\.231\\.0\\.1 -> 10\\.231\\.0\\.2 ping request, id:\\d+, seq:1, ${netfilterDropCause()}`),
      );
      assertEquals(r.code, 0);
    }
  });
});

kernelTest("drop: the ./nettrace launcher (the README's command) runs the drop monitor", async () => {
  await withNet("launcher", async (net) => {
    const args = ["--drop", "-c", "1", "-d", net.v4.b, "-p", "udp"];
    const run = await NettraceRun.start(args, 30000, [LAUNCHER, ...args]);
    try {
      await net.udpSend(net.a, net.v4.b, 9);
      const r = await run.exited(10000);
      assert(r, `the launcher did not exit after one event:\n${run.stderr}`);
      assertEquals(r.code, 0, r.stderr);
      assertMatch(
        r.stdout,
        new RegExp(
          `^\\[\\d+\\.\\d{6}\\] UDP: 10\\.231\\.0\\.1:\\d+ -> 10\\.231\\.0\\.2:9 len:22, ${
            reasonColumn("NO_SOCKET")
          }__udp4_lib_rcv\\+0x[0-9a-f]+\n$`,
        ),
      );
    } finally {
      await run.stop();
    }
  });
});
