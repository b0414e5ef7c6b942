/**
 * Lifecycle tracing (the default mode) on the real kernel: packets between
 * two test namespaces are printed as one block per packet, from transmit to
 * the end of their life, followed after NAT rewrote them; --basic, --detail
 * and -c change the output as documented; no filter is refused.
 *
 * On a tracepoint-only kernel the path is made of tracepoints; where kprobes
 * work (the guest suite) the function points of the tree show too.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { functionProbesHere } from "../helpers/capabilities.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { netemMissing } from "../helpers/netem.ts";
import { must, removeStaleNamespaces, type VethPair, withNet } from "../helpers/netns.ts";
import { NettraceRun, runNettrace, type RunResult } from "../helpers/nettrace_process.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";
import { allLeaves } from "../../src/tracer/tree.ts";
import { loadTree } from "../../src/tracer/tree_source.ts";
import { reasonColumn } from "../helpers/drop_reason_column.ts";
import { parseJsonLines, schemaProblem } from "../helpers/json_schema.ts";

await removeStaleNamespaces();

const HEADER = /^\*{17} ([0-9a-f]+(?:,[0-9a-f]+)*) \*{15}$/;
// (--tiny-show: a line may end with its point)
const LINE = /^\[(\d+\.\d{6})\] \[([A-Za-z0-9_.]+)\s*\](?: (.*))?$/;
const functionsHere = functionProbesHere();
/**
 * Points for the tests that look at the output's shape rather than the whole
 * path: with kprobes each attached function costs time to attach and detach
 * (a lot of it under emulation), so those tests trace a few groups only.
 */
const FEW = ["-t", "link-in,link-out,life"];

const netemWhyNot = await netemMissing();

interface Block {
  skbs: string[];
  points: string[];
  texts: string[];
  /** what follows the packet text: ` *reason: NO_SOCKET, tcp_v4_rcv+0x91*` on a free with a reason */
  notes: string[];
  /** seconds */
  times: number[];
}

/** Splits the output into packet blocks. */
function blocks(stdout: string): Block[] {
  const out: Block[] = [];
  for (const line of stdout.split("\n")) {
    const h = line.match(HEADER);
    if (h) {
      out.push({ skbs: h[1].split(","), points: [], texts: [], notes: [], times: [] });
      continue;
    }
    const m = line.match(LINE);
    if (m && out.length) {
      m[3] ??= "";
      out[out.length - 1].times.push(Number(m[1]));
      out[out.length - 1].points.push(m[2]);
      const note = m[3].match(/( \*[^*]+\*)+$/)?.[0] ?? "";
      out[out.length - 1].texts.push(m[3].slice(0, m[3].length - note.length));
      out[out.length - 1].notes.push(note);
    }
  }
  return out;
}

/** Asserts that names appear in this order among the block's points. */
function assertInOrder(points: string[], names: string[], what: string): void {
  let at = -1;
  for (const n of names) {
    const i = points.indexOf(n, at + 1);
    assert(i > at, `${what}: '${n}' missing or out of order in: ${points.join(" ")}`);
    at = i;
  }
}

kernelTest("life: a ping between namespaces is one block per echo request and reply, transmit to free", async () => {
  await withNet("life", async (net) => {
    // the file's first start is cold (nothing of Deno, libbpf or the kernel's BTF in the page cache yet): on 5.10,
    // without attach cookies, it loads a program per point, over a minute under emulation with another guest beside
    const run = await NettraceRun.start(["-p", "icmp", "--addr", net.v4.b], 120000);
    try {
      await must(["ip", "netns", "exec", net.a, "ping", "-c", "1", "-W", "2", net.v4.b]);
      const seen = await run.waitFor(() => blocks(run.stdout).length >= 2, 10000);
      const r = await run.stop();
      assert(seen, `fewer than 2 blocks:\n${r.stdout}\n${r.stderr}`);
      assertMatch(r.stderr, /^tracing \d+ points \(/m);
      const bs = blocks(r.stdout);
      const request = bs.find((b) => b.texts[0]?.includes("ping request"));
      const reply = bs.find((b) => b.texts[0]?.includes("ping reply"));
      assert(request && reply, r.stdout);
      // ping's raw socket gets a clone of the reply: where return values can be seen
      // (kretprobes) the clone joins the reply's block, on tracepoints alone it cannot
      assertEquals(reply.skbs.length, functionsHere ? 2 : 1, `reply skbs: ${reply.skbs}\n${r.stdout}`);
      for (const [b, what] of [[request, "request"], [reply, "reply"]] as const) {
        assert(b.texts.every((t) => t === b.texts[0]), `${what}: the packet text changed:\n${b.texts.join("\n")}`);
        // transmit (link-out), receive (link-in), end of life, in this order
        assertInOrder(b.points, ["net_dev_queue", "net_dev_xmit", "netif_receive_skb_tp"], what);
        assert(["consume_skb", "kfree_skb"].includes(b.points[b.points.length - 1]), `${what}: ends with a free`);
        if (functionsHere) assertInOrder(b.points, ["ip_rcv", "icmp_rcv"], what);
      }
      assertMatch(request.texts[0], /^ICMP: 10\.231\.0\.1 -> 10\.231\.0\.2 ping request, id:\d+, seq:1$/);
      assertMatch(reply.texts[0], /^ICMP: 10\.231\.0\.2 -> 10\.231\.0\.1 ping reply, id:\d+, seq:1$/);
      if (functionsHere) assertInOrder(request.points, ["icmp_rcv", "icmp_echo"], "request");
    } finally {
      await run.stop();
    }
  });
});

kernelTest(
  "life: through a perf buffer (--transport perf) a ping's blocks read as through the ring buffer",
  async () => {
    await withNet("lifeperf", async (net) => {
      const run = await NettraceRun.start(
        ["-v", "--transport", "perf", ...FEW, "-p", "icmp", "--addr", net.v4.b],
        60000,
      );
      try {
        await must(["ip", "netns", "exec", net.a, "ping", "-c", "1", "-W", "2", net.v4.b]);
        const seen = await run.waitFor(() => blocks(run.stdout).length >= 2, 10000);
        const r = await run.stop();
        assert(seen, `fewer than 2 blocks:\n${r.stdout}\n${r.stderr}`);
        assertMatch(r.stderr, /events through the perf buffer/);
        assertMatch(r.stderr, /end trace\.\.\.\n\d+ packets shown, 0 events lost/);
        const bs = blocks(r.stdout);
        for (const what of ["request", "reply"]) {
          const b = bs.find((b) => b.texts[0]?.includes(`ping ${what}`));
          assert(b, `no ${what} block:\n${r.stdout}`);
          assertInOrder(b.points, ["net_dev_queue", "net_dev_xmit", "netif_receive_skb_tp"], what);
        }
      } finally {
        await run.stop();
      }
    });
  },
);

kernelTest("life: --json gives each packet block as an object that follows the schema, then the summary", async () => {
  await withNet("lifejson", async (net) => {
    const run = await NettraceRun.start([...FEW, "--json", "-p", "icmp", "--addr", net.v4.b], 60000);
    let r;
    try {
      await must(["ip", "netns", "exec", net.a, "ping", "-c", "1", "-W", "2", net.v4.b]);
      await run.waitFor(() => (run.stdout.match(/"type":"packet"/g) ?? []).length >= 2, 10000);
    } finally {
      r = await run.stop();
    }
    const records = parseJsonLines(r.stdout);
    const blocks = records.filter((o) => o.type === "packet");
    const texts = blocks.map((b) =>
      ((b.events as Record<string, unknown>[])[0].packet as Record<string, unknown>).text
    );
    const request = blocks[texts.findIndex((t) => /ping request/.test(t as string))];
    assert(request, `no ping request block:\n${r.stdout}`);
    const points = (request.events as Record<string, unknown>[]).map((e) => e.point);
    assertInOrder(points as string[], ["net_dev_queue", "net_dev_xmit", "netif_receive_skb_tp"], "request");
    const p = (request.events as Record<string, unknown>[])[0].packet as Record<string, unknown>;
    assertEquals([p.saddr, p.daddr, p.protocol, p.icmp_type, p.echo_seq], [net.v4.a, net.v4.b, "ICMP", 8, 1]);
    assertEquals(records[records.length - 1].type, "summary");
    assertEquals(records[records.length - 1].shown, blocks.length);
  });
});

kernelTest("life: --detail shows on every line an skb address of the block (the packet or its clones)", async () => {
  await withNet("lifed", async (net) => {
    const run = await NettraceRun.start(["-p", "icmp", "-s", net.v4.a, "--detail", ...FEW], 60000);
    try {
      await must(["ip", "netns", "exec", net.a, "ping", "-c", "1", "-W", "2", net.v4.b]);
      await run.waitFor(() => /consume_skb|kfree_skb/.test(run.stdout), 10000);
      const r = await run.stop();
      const lines = r.stdout.split("\n");
      const h = lines.findIndex((l) => HEADER.test(l));
      assert(h >= 0, r.stdout);
      const skbs = lines[h].match(HEADER)![1].split(",");
      const body = lines.slice(h + 1, lines.indexOf("", h));
      assert(body.length >= 3, r.stdout);
      for (const l of body) {
        const m = l.match(/^\[\d+\.\d{6}\] \[([0-9a-f]+)\]\[[a-z_0-9.]+\s*\]\[cpu:\d+\s*\]\[[^\]]+\]\[ns:\d+\]/);
        assert(m, l);
        assert(skbs.includes(m[1]), `${m[1]} is not in the block's header ${skbs}`);
      }
      // the first skb of the block is the packet itself, from its first line on
      assertEquals(body[0].match(/^\[[^\]]+\] \[([0-9a-f]+)\]/)![1], skbs[0]);
    } finally {
      await run.stop();
    }
  });
});

kernelTest("life: --basic prints each event at once without blocks; -c counts events then", async () => {
  await withNet("lifeb", async (net) => {
    const run = await NettraceRun.start(["-p", "icmp", "-d", net.v4.b, "--basic", "-c", "3", ...FEW], 60000);
    try {
      await must(["ip", "netns", "exec", net.a, "ping", "-c", "1", "-W", "2", net.v4.b]);
      const r = await run.exited(functionsHere ? 90000 : 15000);
      assert(r, `did not exit after 3 events:\n${run.stdout}\n${run.stderr}`);
      assertEquals(r.code, 0, r.stderr);
      const lines = r.stdout.split("\n").filter((l) => l);
      assertEquals(lines.length, 3, r.stdout);
      for (const l of lines) assertMatch(l, LINE);
      assert(!r.stdout.includes("*****"), "a block header in --basic output");
      assertMatch(r.stderr, /end trace\.\.\.\n3 events shown/);
    } finally {
      await run.stop();
    }
  });
});

kernelTest("life: -c 1 exits after one packet", async () => {
  await withNet("lifec", async (net) => {
    const run = await NettraceRun.start(["-p", "icmp", "-d", net.v4.b, "-c", "1", ...FEW], 60000);
    try {
      await must(["ip", "netns", "exec", net.a, "ping", "-c", "2", "-i", "0.3", "-W", "2", net.v4.b]);
      // detaching many kprobes takes a while under emulation (the guest suite)
      const r = await run.exited(functionsHere ? 90000 : 15000);
      assert(r, `did not exit after one packet:\n${run.stdout}\n${run.stderr}`);
      assertEquals(blocks(r.stdout).length, 1, r.stdout);
      assertMatch(r.stderr, /end trace\.\.\.\n1 packets shown/);
      await assertNothingLeft("after -c 1");
    } finally {
      await run.stop();
    }
  });
});

kernelTest("life --pkt-fixed: a packet is not followed past the DNAT that changed it (as in C)", async () => {
  await withNet("lifefixed", async (net) => {
    await must(["ip", "netns", "exec", net.b, "nft", "-f", "-"], {
      input: "table ip nettrace_nat {\n chain pre {\n  type nat hook prerouting priority -100;\n" +
        "  tcp dport 7001 dnat to 10.231.0.2:7002\n }\n}\n",
    });
    const run = await NettraceRun.start(["-p", "tcp", "-D", "7001", "--pkt-fixed", ...FEW], 60000);
    try {
      await net.tcpConnect(net.a, net.v4.b, 7001);
      // its free (at :7002) does not match: the block is printed when its context times out (2 s)
      await run.waitFor(() => blocks(run.stdout).some((b) => b.texts[0]?.includes(":7001 ")), 10000);
      const r = await run.stop();
      const b = blocks(r.stdout).find((x) => x.texts[0]?.includes(":7001 "))!;
      assert(b.texts.every((t) => t.includes("-> 10.231.0.2:7001 ")), `only the points before the DNAT:\n${r.stdout}`);
      assert(!r.stdout.includes(":7002"), r.stdout);
      assert(!b.points.includes("kfree_skb"), `its free at :7002 is not shown:\n${r.stdout}`);
    } finally {
      await run.stop();
    }
  });
});

kernelTest("life: a packet stays followed after DNAT changed its destination", async () => {
  await withNet("lifenat", async (net) => {
    await must(["ip", "netns", "exec", net.b, "nft", "-f", "-"], {
      input: "table ip nettrace_nat {\n chain pre {\n  type nat hook prerouting priority -100;\n" +
        "  tcp dport 7001 dnat to 10.231.0.2:7002\n }\n}\n",
    });
    const run = await NettraceRun.start(["-p", "tcp", "-D", "7001", ...FEW], 60000);
    try {
      await net.tcpConnect(net.a, net.v4.b, 7001);
      await run.waitFor(() => run.stdout.includes(":7002"), 10000);
      const r = await run.stop();
      const b = blocks(r.stdout).find((x) => x.texts.some((t) => t.includes(":7002")));
      assert(b, `no block shows the rewritten port 7002:\n${r.stdout}`);
      assertMatch(b.texts[0], /^TCP: 10\.231\.0\.1:\d+ -> 10\.231\.0\.2:7001 seq:\d+, ack:0, flags:S$/);
      const last = b.texts[b.texts.length - 1];
      assertMatch(last, /-> 10\.231\.0\.2:7002 seq:\d+, ack:0, flags:S$/);
      assertEquals(b.points[b.points.length - 1], "kfree_skb"); // no listener on 7002: NO_SOCKET
      // before 5.17 (Debian 11's 5.10) the free names no reason, only where it happened
      assertMatch(
        b.notes[b.notes.length - 1],
        new RegExp(`^ \\*${reasonColumn("NO_SOCKET")}tcp_v4_rcv\\+0x[0-9a-f]+\\*$`),
      );
    } finally {
      await run.stop();
    }
  });
});

kernelTest(
  // (not a "life: " test: the guests, which run those, need not; no kernel changes what it checks)
  "life without a filter traces every packet with a one-line notice, as the C nettrace; --force leaves it out",
  async () => {
    await withNet("lifenofilter", async (net) => {
      for (const force of [[], ["--force"]]) {
        // (the groups a ping crosses on every kernel: the whole tree without a filter is heavy under emulation)
        const { r, block } = await tracedPing(net, ["-t", "link-in,link-out,life", ...force], "request", "no filter");
        assertEquals(r.code, 0, r.stderr);
        assertMatch(block.texts[0], /^ICMP: 10\.231\.0\.1 -> 10\.231\.0\.2 ping request/);
        const notice = r.stderr.split("\n").filter((l) => l.startsWith("nettrace: no filter: every packet"));
        assertEquals(notice.length, force.length ? 0 : 1, r.stderr);
      }
    });
    const t = await runNettrace(["-t", "nosuchpoint", "-p", "icmp"]);
    assertEquals(t.code, 2);
    assertEquals(t.stderr, "nettrace: -t: no group or trace point 'nosuchpoint' (nettrace -t ? lists them)\n");
  },
);

kernelTest("life: -t ? lists the tree, each point usable or not here, and why", async () => {
  const r = await runNettrace(["-t", "?"]);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /^link-in: /m);
  assertMatch(r.stdout, /^ {4}\+ kfree_skb\s+tracepoint skb:kfree_skb \[ends life\]: tracepoint$/m);
  const ipRcv = r.stdout.match(/^ {4}([+-]) ip_rcv\s+function ip_rcv: (.*)$/m);
  assert(ipRcv, r.stdout);
  if (functionsHere) assertEquals(ipRcv[1], "+", ipRcv[0]);
  else {
    assertEquals(ipRcv[1], "-");
    assertEquals(ipRcv[2], "no function probes here");
    assertMatch(r.stdout, /^\d+ function points skipped: no function probes on this kernel \(kprobe: /m);
  }
  assertMatch(r.stdout, /^\d+ of \d+ trace points usable on this kernel/m);
});

kernelTest(
  "life: --tcp-flags keeps the packets with those flags: the SYN or the RST of a refused connection",
  async () => {
    await withNet("lifetf", async (net) => {
      for (const [flags, want, not] of [["S", "flags:S", "flags:AR"], ["R", "flags:AR", "flags:S"]]) {
        const run = await NettraceRun.start(["-p", "tcp", "-P", "7010", "--tcp-flags", flags, ...FEW], 60000);
        try {
          // two refused connections, one after the other: the second's wanted packet ends after every packet of
          // the first (its RST is taken by the client before connect returns), so once two wanted blocks are
          // printed, an unwanted one of the first connection would have been printed too
          await net.tcpConnect(net.a, net.v4.b, 7010);
          await net.tcpConnect(net.a, net.v4.b, 7010);
          const wanted = () => blocks(run.stdout).filter((b) => b.texts[0].endsWith(want)).length;
          await run.waitFor(() => wanted() >= 2, 10000);
          const r = await run.stop();
          const bs = blocks(r.stdout);
          assert(bs.length >= 2, `--tcp-flags ${flags}: not two blocks:\n${r.stdout}\n${r.stderr}`);
          for (const b of bs) {
            assert(b.texts[0].endsWith(want), `--tcp-flags ${flags}: ${b.texts[0]}`);
            assert(!b.texts.some((t) => t.endsWith(not)), `--tcp-flags ${flags} let ${not} through`);
          }
        } finally {
          await run.stop();
        }
      }
    });
  },
);

/**
 * Traces one ping from a to b with args; the run stopped, and the block of the echo `kind` (it fails without one).
 * what: how the run is named in a failure.
 */
async function tracedPing(
  net: VethPair,
  args: string[],
  kind: "request" | "reply",
  what: string,
): Promise<{ r: RunResult; block: Block }> {
  const run = await NettraceRun.start(args, 60000);
  try {
    await must(["ip", "netns", "exec", net.a, "ping", "-c", "1", "-W", "2", net.v4.b]);
    await run.waitFor(() => blocks(run.stdout).some((b) => b.texts[0]?.includes(`ping ${kind}`)), 10000);
    const r = await run.stop();
    const block = blocks(r.stdout).find((b) => b.texts[0]?.includes(`ping ${kind}`));
    assert(block, `${what}: no block for the ${kind}\n${r.stdout}\n${r.stderr}`);
    return { r, block };
  } finally {
    await run.stop();
  }
}

/**
 * Points chosen in a run, from its "tracing N points (...); skipped: 3 why; 2 why; not attached: a, b (why); c (why)"
 * line: those it traces, and those plus the skipped and the ones that failed to attach.
 */
function chosenPoints(stderr: string): { traced: number; chosen: number } {
  const line = stderr.split("\n").find((l) => l.startsWith("tracing ")) ?? "";
  const [head, failedText = ""] = line.split("; not attached: ");
  const traced = Number(head.match(/^tracing (\d+) points/)?.[1] ?? NaN);
  const skipped = [...(head.split("; skipped: ")[1] ?? "").matchAll(/(?:^|; )(\d+) /g)]
    .reduce((n, m) => n + Number(m[1]), 0);
  const failed = failedText ? failedText.split(/\); /).map((g) => g.split(" (")[0].split(", ").length) : [];
  return { traced, chosen: traced + skipped + failed.reduce((n, k) => n + k, 0) };
}

kernelTest(
  "life -t all: every point of the tree is chosen, also those off by default, and a ping is traced",
  async () => {
    await withNet("lifeall", async (net) => {
      const leaves = allLeaves(loadTree());
      // lifecycle tracing leaves out the points off by default and those for --sock (group sock)
      const offByDefault = leaves.filter((l) => !l.defaultOn || l.sockMode).length;
      const counts = [];
      for (const t of [[], ["-t", "all"]]) {
        const { r } = await tracedPing(net, ["-p", "icmp", "-s", net.v4.a, ...t], "request", t.join(" ") || "default");
        counts.push(chosenPoints(r.stderr));
      }
      const [byDefault, all] = counts;
      console.log(`  default: ${JSON.stringify(byDefault)}, -t all: ${JSON.stringify(all)} of ${leaves.length} points`);
      assertEquals(all.chosen, leaves.length, "-t all chooses every point of the tree");
      assertEquals(
        byDefault.chosen,
        leaves.length - offByDefault,
        "by default the points off by default and those for --sock are not chosen",
      );
      assert(all.traced >= byDefault.traced, `-t all traces no fewer points: ${all.traced} < ${byDefault.traced}`);
    });
  },
);

kernelTest("life --tiny-show: a block's first line shows the packet, the others only their point", async () => {
  await withNet("lifetiny", async (net) => {
    const args = ["-p", "icmp", "--addr", net.v4.b, "--tiny-show"];
    const { r, block } = await tracedPing(net, args, "request", "--tiny-show");
    assert(block.points.length >= 3, r.stdout);
    assertMatch(block.texts[0], /^ICMP: 10\.231\.0\.1 -> 10\.231\.0\.2 ping request/);
    for (const [i, t] of block.texts.entries()) {
      if (i > 0) assert(!t.includes("ICMP"), `line ${i + 1} of the block shows the packet:\n${r.stdout}`);
    }
  });
});

kernelTest(
  "life --trace-noclone: the reply's clone (for ping's raw socket) stays out of the reply's block",
  async () => {
    await withNet("lifenoclone", async (net) => {
      const replySkbs: number[] = [];
      for (const noclone of [[], ["--trace-noclone"]]) {
        // the clone is skb_clone's (group life), for the raw socket ping uses: these groups are enough
        const args = ["-p", "icmp", "--addr", net.v4.b, "-t", "link-in,link-out,icmp,life", ...noclone];
        const { block: reply } = await tracedPing(net, args, "reply", noclone.join(" ") || "default");
        replySkbs.push(reply.skbs.length);
      }
      if (!functionsHere) {
        console.log("  no function probes here: clones are followed nowhere, the guests show the difference");
      }
      // a clone joins its parent's block through the clone function's return (kretprobe or fexit)
      assertEquals(replySkbs, [functionsHere ? 2 : 1, 1], "reply skbs without and with --trace-noclone");
    });
  },
);

kernelTest("life --trace-free: a point named there ends the skb's life, its block closes there", async () => {
  await withNet("lifefree", async (net) => {
    const run = await NettraceRun.start(["-p", "icmp", "-s", net.v4.a, ...FEW, "--trace-free", "net_dev_xmit"], 60000);
    try {
      await must(["ip", "netns", "exec", net.a, "ping", "-c", "1", "-W", "2", net.v4.b]);
      // the request's life ends where it is handed to the device; where it is received, the filter opens another
      await run.waitFor(
        () => blocks(run.stdout).filter((b) => b.texts[0]?.includes("ping request")).length >= 2,
        10000,
      );
      const r = await run.stop();
      const requests = blocks(r.stdout).filter((b) => b.texts[0]?.includes("ping request"));
      const [sent, received] = requests.map((b) => b.points);
      assertEquals([sent?.[0], sent?.at(-1)], ["net_dev_queue", "net_dev_xmit"], r.stdout);
      assertEquals(received?.[0], "netif_receive_skb_tp", r.stdout);
      assert(["consume_skb", "kfree_skb"].includes(received?.at(-1) ?? ""), `ends with a free:\n${r.stdout}`);
    } finally {
      await run.stop();
    }
  });
  const bad = await runNettrace(["-p", "icmp", "-t", "life", "--trace-free", "net_dev_xmit"]);
  assertEquals([bad.code, bad.stderr.trim().split("\n").at(-1)], [
    2,
    "nettrace: --trace-free: net_dev_xmit not traced in this run (nettrace -t ? says why)",
  ]);
});

kernelTest("life --trace-matcher: packets are matched only there, and still show their later points", async () => {
  await withNet("lifematch", async (net) => {
    const requests: string[][] = [];
    for (const matcher of [[], ["--trace-matcher", "netif_receive_skb_tp"]]) {
      const args = ["-p", "icmp", "-s", net.v4.a, ...FEW, ...matcher];
      const { block: request } = await tracedPing(net, args, "request", matcher.join(" ") || "no matcher");
      assert(["consume_skb", "kfree_skb"].includes(request.points.at(-1)!), `ends with a free: ${request.points}`);
      requests.push(request.points);
    }
    const [everywhere, matched] = requests;
    assertEquals(everywhere[0], "net_dev_queue", "without --trace-matcher the request opens where it is sent");
    assertEquals(matched[0], "netif_receive_skb_tp", `with it, where it is received: ${matched}`);
    assert(!matched.includes("net_dev_queue"), `no point before the matcher's: ${matched}`);
  });
  const bad = await runNettrace(["--drop", "--trace-matcher", "ip_rcv"]);
  assertEquals([bad.code, bad.stderr.trim()], [2, "nettrace: --trace-matcher is for lifecycle tracing (and --diag)"]);
});

kernelTest(
  "life bonding: a ping sent through a bond device passes bond_dev_queue_xmit (C's bonding group)",
  async () => {
    await withNet("lifebond", async (net) => {
      // a's veth0 becomes the one slave of bond0, which takes a's address
      for (
        const args of [
          ["link", "add", "bond0", "type", "bond", "mode", "active-backup"],
          ["addr", "flush", "dev", "veth0"],
          ["link", "set", "veth0", "down"],
          ["link", "set", "veth0", "master", "bond0"],
          ["addr", "add", `${net.v4.a}/24`, "dev", "bond0"],
          ["link", "set", "bond0", "up"],
          ["link", "set", "veth0", "up"],
        ]
      ) await must(["ip", "-n", net.a, ...args]);
      const run = await NettraceRun.start(["-p", "icmp", "-s", net.v4.a, "-t", "bonding,link-out,life"], 120000);
      try {
        await must(["ip", "netns", "exec", net.a, "ping", "-c", "2", "-W", "2", net.v4.b]);
        await run.waitFor(() => blocks(run.stdout).some((b) => b.texts[0]?.includes("ping request")), 10000);
        const r = await run.stop();
        const request = blocks(r.stdout).find((b) => b.texts[0]?.includes("ping request"));
        assert(request, `no block for the request\n${r.stdout}\n${r.stderr}`);
        assertInOrder(request.points, ["bond_dev_queue_xmit", "net_dev_queue"], "request");
      } finally {
        await run.stop();
      }
    });
  },
  functionsHere ? undefined : "no function probes here: the bonding group is functions only (the 6.1 guest runs it)",
);

kernelTest("life --func-stats: N pings are at least N calls of each receive point, counted in the kernel", async () => {
  const N = 5;
  await withNet("lifestats", async (net) => {
    const run = await NettraceRun.start(["--func-stats", "--interval", "1", "-t", "link-in,icmp"], 60000);
    let r;
    try {
      await must(["ip", "netns", "exec", net.a, "ping", "-c", String(N), "-i", "0.3", "-W", "2", net.v4.b]);
      // an interval's table, then the last one at SIGINT
      await run.waitFor(() => run.stdout.includes("with the calls since the last table"), 5000);
      r = await run.stop();
    } finally {
      await run.stop();
    }
    const tables = r.stdout.trim().split("\n\n");
    assert(tables.length >= 2, `an interval's table and the last one:\n${r.stdout}`);
    const last = new Map(
      tables.at(-1)!.split("\n").slice(1).map((l) => l.trim().split(/\s+/)).map((f) => [f.at(-1)!, f[0]]),
    );
    const calls = (point: string) => Number(last.get(point)?.replaceAll(",", "") ?? 0);
    // every request and every reply is received once: 2N at least (the host's own traffic adds to it)
    assert(
      calls("netif_receive_skb_tp") >= 2 * N,
      `netif_receive_skb_tp: ${calls("netif_receive_skb_tp")}\n${r.stdout}`,
    );
    if (functionsHere) assert(calls("icmp_rcv") >= 2 * N, `icmp_rcv: ${calls("icmp_rcv")}\n${r.stdout}`);
    assertMatch(r.stderr, /^[\d,]+ calls counted at \d+ points$/m);
    assert(!/ICMP: /.test(r.stdout), "no event is sent");
  });
});

/** The latencies of a block's lines (--latency-show), in ms; undefined where a line has none. */
function latencies(texts: string[]): Array<number | undefined> {
  return texts.map((t) => {
    const m = t.match(/, latency: (\d+\.\d{3})ms$/);
    return m ? Number(m[1]) : undefined;
  });
}

kernelTest("life --latency-show: each point's time since the packet's first, rising along the block", async () => {
  await withNet("lifelat2", async (net) => {
    for (const free of [[], ["--latency-free"]]) {
      const args = ["-p", "icmp", "-s", net.v4.a, ...FEW, "--latency-show", ...free];
      const { r, block: b } = await tracedPing(net, args, "request", free.join(" ") || "--latency-show");
      const ms = latencies(b.texts);
      assertEquals(ms[0], 0, `the first point is 0:\n${r.stdout}`);
      const shown = ms.slice(0, -1) as number[];
      assert(shown.every((v, i) => v !== undefined && (i === 0 || v >= shown[i - 1])), `rising: ${ms}`);
      // the free ends the block: its latency only with --latency-free
      assertEquals(ms.at(-1) !== undefined, free.length > 0, `the free's line: ${b.texts.at(-1)}`);
    }
  });
});

kernelTest(
  "life --latency-show: a 100 ms netem delay on the sender shows up where the packet leaves the qdisc",
  async () => {
    await withNet("lifenetem", async (net) => {
      await must([
        "ip",
        "netns",
        "exec",
        net.a,
        "tc",
        "qdisc",
        "add",
        "dev",
        "veth0",
        "root",
        "netem",
        "delay",
        "100ms",
      ]);
      const run = await NettraceRun.start(["-p", "icmp", "-s", net.v4.a, ...FEW, "--latency-show"], 60000);
      try {
        await must(["ip", "netns", "exec", net.a, "ping", "-c", "1", "-W", "3", net.v4.b]);
        await run.waitFor(() => blocks(run.stdout).some((b) => b.texts[0]?.includes("ping request")), 10000);
        const r = await run.stop();
        const b = blocks(r.stdout).find((x) => x.texts[0]?.includes("ping request"))!;
        const ms = latencies(b.texts);
        const queued = b.points.indexOf("net_dev_queue"), sent = b.points.indexOf("net_dev_start_xmit");
        assert(queued >= 0 && sent > queued, `net_dev_queue, then net_dev_start_xmit:\n${r.stdout}`);
        // enqueued at net_dev_queue, held 100 ms by netem, dequeued and handed to the driver
        assert(ms[sent]! - ms[queued]! >= 99, `the delay between the two: ${ms}\n${r.stdout}`);
      } finally {
        await run.stop();
      }
    });
  },
  netemWhyNot,
);

kernelTest(
  "life --latency: per-point histograms at exit and no blocks; --latency-summary --json as an object",
  async () => {
    await withNet("lifelatsum", async (net) => {
      // -c 2: the request's block and the reply's; the summary comes at the end, whatever ended the run
      const ping = () => must(["ip", "netns", "exec", net.a, "ping", "-c", "1", "-W", "2", net.v4.b]);
      const runNettraceWhile = async (args: string[], action: () => Promise<unknown>) => {
        const run = await NettraceRun.start(args, 60000);
        try {
          await action();
          const r = await run.exited(15000);
          assert(r, `-c 2 did not end the run:\n${run.stdout}\n${run.stderr}`);
          return r;
        } finally {
          await run.stop();
        }
      };
      const text = await runNettraceWhile(["-p", "icmp", "--addr", net.v4.b, ...FEW, "--latency", "-c", "2"], ping);
      assert(!text.stdout.includes("*****"), `no block:\n${text.stdout}`);
      assertMatch(text.stdout, /^latency from the point before, per point, in µs \(2 packets\)$/m);
      // the request leaves a's veth, the reply b's: each passes net_dev_xmit once
      assertMatch(text.stdout, /^net_dev_xmit: 2 times, min [\d.]+, avg [\d.]+, max [\d.]+$/m);
      assertMatch(text.stdout, /^ +\[\d+, \d+\) +\d+ \|@+ *\|$/m);
      const json = await runNettraceWhile(
        ["-p", "icmp", "--addr", net.v4.b, ...FEW, "--latency-summary", "--json", "-c", "2"],
        ping,
      );
      const objects = parseJsonLines(json.stdout);
      const summary = objects.find((o) => o.type === "latency_summary");
      assert(summary, json.stdout);
      for (const o of objects) assertEquals(schemaProblem(o), undefined, JSON.stringify(o));
      const packets = objects.filter((o) => o.type === "packet");
      assertEquals(packets.length, 2, "--latency-summary keeps the blocks");
      // the kernel measured with the events' own timestamps: at net_dev_xmit (before any clone) its latencies are the
      // blocks' times from the event before
      const deltas = packets.map((p) => {
        const evs = p.events as Array<{ point: string; ts_ns: number }>;
        const i = evs.findIndex((e) => e.point === "net_dev_xmit");
        assert(i > 0, JSON.stringify(p));
        return evs[i].ts_ns - evs[i - 1].ts_ns;
      });
      const xmit = (summary.points as Array<Record<string, number | string>>).find((p) => p.point === "net_dev_xmit");
      assert(xmit, JSON.stringify(summary));
      assertEquals([xmit.count, xmit.min_ns, xmit.max_ns], [2, Math.min(...deltas), Math.max(...deltas)]);
      assertEquals(summary.packets, 2);
    });
  },
);

kernelTest(
  "life: --pkt-len keeps packets whose IP length, header included, is that (as in the C nettrace)",
  async () => {
    await withNet("lifepl", async (net) => {
      const run = await NettraceRun.start(["-p", "icmp", "-s", net.v4.a, "--pkt-len", "1028", ...FEW], 60000);
      try {
        // IP length 128: left out; 1014 (1028 bytes with the Ethernet header, skb->len where it is sent): left out;
        // 1028: shown, both of its requests
        await must(["ip", "netns", "exec", net.a, "ping", "-c", "1", "-s", "100", "-W", "2", net.v4.b]);
        await must(["ip", "netns", "exec", net.a, "ping", "-c", "1", "-s", "986", "-W", "2", net.v4.b]);
        await must(["ip", "netns", "exec", net.a, "ping", "-c", "2", "-i", "0.2", "-s", "1000", "-W", "2", net.v4.b]);
        // the second large request ends after the small one: once it is printed, the small one would have been
        await run.waitFor(() => blocks(run.stdout).some((b) => /seq:2$/.test(b.texts[0])), 10000);
        const r = await run.stop();
        const bs = blocks(r.stdout);
        assertEquals(bs.length, 2, r.stdout);
        assertMatch(bs[0].texts[0], /^ICMP: 10\.231\.0\.1 -> 10\.231\.0\.2 ping request, id:\d+, seq:1$/);
        assertMatch(bs[1].texts[0], /^ICMP: 10\.231\.0\.1 -> 10\.231\.0\.2 ping request, id:\d+, seq:2$/);
      } finally {
        await run.stop();
      }
    });
  },
);

kernelTest(
  "life: --min-latency shows only packets that lived that long (a datagram left unread for 600 ms)",
  async () => {
    await withNet("lifelat", async (net) => {
      const args = ["-p", "udp", "-d", net.v4.b, "--min-latency", "300000", "-t", "link-in,link-out,life,socket"];
      const run = await NettraceRun.start(args, 60000);
      try {
        const receiver = new Deno.Command("ip", {
          args: [
            "netns",
            "exec",
            net.b,
            Deno.execPath(),
            "eval",
            "--unstable-net",
            `
          const s = Deno.listenDatagram({ transport: "udp", hostname: "${net.v4.b}", port: 7100 });
          console.log("ready");
          // the 600 ms begin once the datagram was sent (stdin closes then), not at "ready": under emulation
          // starting the sender can take longer than that, and the datagram would find the socket closed
          for await (const _ of Deno.stdin.readable) { /* until the test closes it */ }
          await new Promise((r) => setTimeout(r, 600));
          s.close();`,
          ],
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const reader = receiver.stdout.pipeThrough(new TextDecoderStream()).getReader();
        assertEquals((await reader.read()).value?.trim(), "ready");
        reader.releaseLock();
        // the one dropped at once first: the queued one's life must stay under the tracker's 2 s without events
        // (else its block ends unfinished and the free starts another), and a send costs a process (seconds in a
        // busy emulated guest)
        await net.udpSend(net.a, net.v4.b, 7101); // dropped at once: no socket
        await net.udpSend(net.a, net.v4.b, 7100); // queued, freed 600 ms later
        await receiver.stdin.close();
        const status = await receiver.status;
        assertEquals(status.code, 0);
        // the unread datagram ends 600 ms after it was sent, after the other was dropped: its block is the marker
        // (a block is printed, or not, when its packet's life ends)
        await run.waitFor(() => blocks(run.stdout).some((b) => b.texts[0].includes(":7100 ")), 8000);
        const r = await run.stop();
        const bs = blocks(r.stdout);
        assertEquals(bs.length, 1, `one packet lived 300 ms or more:\n${r.stdout}\n${r.stderr}`);
        assertMatch(bs[0].texts[0], /-> 10\.231\.0\.2:7100 len:\d+$/);
        const lived = bs[0].times[bs[0].times.length - 1] - bs[0].times[0];
        assert(lived >= 0.3, `lived ${lived}s: ${bs[0].points.join(" ")}`);
        assertEquals(bs[0].points[bs[0].points.length - 1], "kfree_skb");
      } finally {
        await run.stop();
      }
    });
  },
);

kernelTest("life: --trace-stack prints the kernel stack under the chosen points only", async () => {
  await withNet("lifest", async (net) => {
    const args = ["-p", "icmp", "-s", net.v4.a, "--trace-stack", "net_dev_queue", ...FEW];
    const run = await NettraceRun.start(args, 60000);
    try {
      await must(["ip", "netns", "exec", net.a, "ping", "-c", "1", "-W", "2", net.v4.b]);
      await run.waitFor(() => blocks(run.stdout).length >= 1, 10000);
      const r = await run.stop();
      const lines = r.stdout.split("\n");
      const at = lines.findIndex((l) => /\[net_dev_queue\s*\]/.test(l));
      assert(at >= 0, r.stdout);
      assertEquals(lines[at + 1], "Call Stack:", "the C nettrace's header above the frames");
      assertMatch(lines[at + 2], /^ {4}-> __dev_queue_xmit\+0x[0-9a-f]+$/);
      const frames = lines.filter((l) => l.startsWith("    -> "));
      assert(frames.length >= 3 && frames.length <= 127, r.stdout);
      const other = lines.findIndex((l) => /\[net_dev_xmit\s*\]/.test(l));
      assert(other > at && lines[other + 1] !== "Call Stack:", "a stack under a point not chosen");
    } finally {
      await run.stop();
    }
  });
  const bad = await runNettrace(["-p", "icmp", "--trace-stack", "nosuch"]);
  assertEquals(bad.code, 2);
  assertEquals(bad.stderr, "nettrace: --trace-stack: no group or trace point 'nosuch' (nettrace -t ? lists them)\n");
});

kernelTest("life: --ret shows return values where kretprobes work, and says why not elsewhere", async () => {
  await withNet("liferet", async (net) => {
    const run = await NettraceRun.start(["-p", "icmp", "-s", net.v4.a, "--ret", "-t", "icmp,life"], 60000);
    try {
      await must(["ip", "netns", "exec", net.a, "ping", "-c", "1", "-W", "2", net.v4.b]);
      // a block is printed whole, return values in (after a grace time for late returns)
      await run.waitFor(() => blocks(run.stdout).length >= 1, 10000);
      const r = await run.stop();
      if (functionsHere) {
        assertMatch(
          r.stdout,
          /\[icmp_rcv\s*\] ICMP: 10\.231\.0\.1 -> 10\.231\.0\.2 ping request, id:\d+, seq:1, ret: 0$/m,
        );
        // as in C, every function that returns a value shows it, not only those the tree marks (icmp_echo: a
        // drop reason, 0 when it kept the packet; a bool before 5.18)
        assertMatch(
          r.stdout,
          /\[icmp_echo\s*\] ICMP: 10\.231\.0\.1 -> 10\.231\.0\.2 ping request, id:\d+, seq:1, ret: \d+$/m,
        );
      } else {
        assertMatch(r.stderr, /--ret shows nothing here: return values need function probes \(kretprobes\)/);
        assert(!r.stdout.includes("ret:"), r.stdout);
      }
    } finally {
      await run.stop();
    }
  });
});
