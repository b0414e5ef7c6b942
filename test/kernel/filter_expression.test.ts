/**
 * tcpdump filter expressions in the kernel, on real drops: two UDP flows
 * between test namespaces drop at once (closed ports 5353 and 9999, or an nft
 * rule on the sender's output), and an expression that keeps one of them
 * shows only that one, in --drop, lifecycle tracing and --diag. The other
 * flow's drops happen too (the kernel's counters say so) and come before the
 * last drop the test waits for, so their absence is not a matter of waiting.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";
import { kernelReportsDropReasons } from "../helpers/drop_reason_column.ts";
import { functionProbesHere } from "../helpers/capabilities.ts";
import { parseJsonLines } from "../helpers/json_schema.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { must, removeStaleNamespaces, type VethPair, withNet } from "../helpers/netns.ts";
import { NettraceRun, runNettrace } from "../helpers/nettrace_process.ts";
import { pathExists } from "../helpers/path_exists.ts";

await removeStaleNamespaces();

const KEPT = 5353, OTHER = 9999, ROUNDS = 3;
const EXPRESSION = `udp and dst port ${KEPT}`;

type Json = Record<string, unknown>;
const packetOf = (o: Json) => o.packet as Json;

/** Sends ROUNDS datagrams to each port, the other flow first in each round; the last one is to KEPT. */
async function bothFlows(net: VethPair): Promise<void> {
  for (let i = 0; i < ROUNDS; i++) {
    await net.udpSend(net.a, net.v4.b, OTHER, `other-${i}`);
    await net.udpSend(net.a, net.v4.b, KEPT, `kept-${i}`);
  }
}

/** Runs nettrace with args around both flows until cond holds on its JSON records; returns the records. */
async function traceBoth(net: VethPair, args: string[], done: (records: Json[]) => boolean): Promise<Json[]> {
  const run = await NettraceRun.start(args, 60000);
  let stdout = "", stderr = "";
  try {
    await bothFlows(net);
    await run.waitFor(() => done(parseJsonLines(run.stdout.slice(0, run.stdout.lastIndexOf("\n") + 1))), 15000);
  } finally {
    const r = await run.stop();
    stdout = r.stdout;
    stderr = r.stderr;
    assertEquals(r.code, 0, stderr);
  }
  const records = parseJsonLines(stdout);
  assert(done(records), `not every datagram to ${KEPT} was seen:\n${stdout}\n${stderr}`);
  return records;
}

kernelTest(`expression: --drop '${EXPRESSION}' shows the drops of that flow only`, async () => {
  await withNet("exprdrop", async (net) => {
    const before = await net.snmpCounter(net.b, "Udp", "NoPorts");
    const drops = (rs: Json[]) => rs.filter((o) => o.type === "drop");
    const records = await traceBoth(
      net,
      ["--drop", "--json", EXPRESSION],
      (rs) => drops(rs).filter((d) => packetOf(d).dport === KEPT).length >= ROUNDS,
    );
    assertEquals(await net.snmpCounter(net.b, "Udp", "NoPorts") - before, 2 * ROUNDS, "both flows were dropped");
    const ports = drops(records).map((d) => packetOf(d).dport);
    assertEquals(ports, new Array(ROUNDS).fill(KEPT), JSON.stringify(records));
    const summary = records.find((o) => o.type === "summary");
    assertEquals(summary?.shown, ROUNDS, JSON.stringify(summary));
  });
  await assertNothingLeft("after --drop with an expression");
});

kernelTest("expression: the fixed options and the expression both hold (each keeps one of the two flows)", async () => {
  await withNet("exprboth", async (net) => {
    const drops = (rs: Json[]) => rs.filter((o) => o.type === "drop");
    const kept = (rs: Json[]) => drops(rs).filter((d) => packetOf(d).dport === KEPT).length >= ROUNDS;
    // the expression chooses the flow, the fixed options let both through
    const byExpression = await traceBoth(
      net,
      ["--drop", "--json", "-p", "udp", "-d", net.v4.b, `dst port ${KEPT}`],
      kept,
    );
    assertEquals(drops(byExpression).map((d) => packetOf(d).dport), new Array(ROUNDS).fill(KEPT));
    // the fixed options choose the flow, the expression lets both through
    const byOptions = await traceBoth(
      net,
      ["--drop", "--json", "-D", String(KEPT), `udp and dst host ${net.v4.b}`],
      kept,
    );
    assertEquals(drops(byOptions).map((d) => packetOf(d).dport), new Array(ROUNDS).fill(KEPT));
  });
});

kernelTest(
  "expression: at a point with no MAC header (the sender's nft output drop) the IP header is matched",
  async () => {
    await withNet("exprout", async (net) => {
      // both flows dropped in the sender's OUTPUT hook: the skb has a network header and no MAC header yet
      await must(["ip", "netns", "exec", net.a, "nft", "-f", "-"], {
        input: `table inet nettrace_expr {\n chain out {\n  type filter hook output priority 0;\n` +
          `  udp dport { ${KEPT}, ${OTHER} } drop\n }\n}\n`,
      });
      const drops = (rs: Json[]) => rs.filter((o) => o.type === "drop");
      const records = await traceBoth(
        net,
        ["--drop", "--json", "-e", `ip and src host ${net.v4.a} and udp[2:2] = ${KEPT}`],
        (rs) => drops(rs).length >= ROUNDS,
      );
      const ds = drops(records);
      assertEquals(ds.map((d) => packetOf(d).dport), new Array(ROUNDS).fill(KEPT), JSON.stringify(records));
      for (const d of ds) {
        // where the kernel names drop reasons it is NETFILTER_DROP (at nf_hook_slow or, since 6.18.44, nft_do_chain)
        if (kernelReportsDropReasons()) assertEquals(d.reason, "NETFILTER_DROP");
        else assertMatch(String(d.location), /^nf_hook_slow\+0x[0-9a-f]+$/, JSON.stringify(d));
        assertEquals(d.netns, net.netnsInode(net.a));
      }
    });
  },
);

kernelTest(`expression: lifecycle tracing with -e '${EXPRESSION}' shows that flow's packets only`, async () => {
  await withNet("exprlife", async (net) => {
    const blocks = (rs: Json[]) => rs.filter((o) => o.type === "packet");
    const keptEnds = (rs: Json[]) =>
      blocks(rs).filter((b) => {
        const events = b.events as Json[];
        return packetOf(events[0]).dport === KEPT && events[events.length - 1].point === "kfree_skb";
      }).length;
    const records = await traceBoth(
      net,
      // ip_output, the transmit tracepoint, the ends of life: few points (each fentry costs seconds to load and attach
      // in an emulated guest)
      ["--json", "-t", "ip_output,net_dev_queue,kfree_skb,consume_skb", "-e", EXPRESSION],
      (rs) => keptEnds(rs) >= ROUNDS,
    );
    const bs = blocks(records);
    const ports = bs.map((b) => packetOf((b.events as Json[])[0]).dport);
    assertEquals(ports, new Array(ROUNDS).fill(KEPT), JSON.stringify(records));
    if (functionProbesHere()) {
      // the packet is matched where it is first seen, on IP's output path, where it has no MAC header yet: its
      // block begins there
      for (const b of bs) {
        const points = (b.events as Json[]).map((e) => String(e.point));
        assertEquals(points[0], "ip_output", `a block that begins after IP's output: ${points.join(" ")}`);
      }
    }
  });
  await assertNothingLeft("after lifecycle tracing with an expression");
});

kernelTest(`expression: --diag with '${EXPRESSION}' diagnoses that flow only`, async () => {
  await withNet("exprdiag", async (net) => {
    const analysed = (rs: Json[]) => rs.filter((o) => o.type === "packet" && o.analysis);
    const records = await traceBoth(
      net,
      // the transmit tracepoint and the ends of life: tracepoints only, quick to attach in an emulated guest
      ["--diag", "--diag-keep", "--json", "-t", "net_dev_queue,kfree_skb,consume_skb", EXPRESSION],
      (rs) => analysed(rs).length >= ROUNDS,
    );
    const bs = analysed(records);
    assertEquals(bs.map((b) => packetOf((b.events as Json[])[0]).dport), new Array(ROUNDS).fill(KEPT));
    for (const b of bs) {
      const finding = ((b.analysis as Json).findings as Json[])[0];
      assertEquals([finding.level, finding.point], ["ERROR", "kfree_skb"]);
    }
  });
});

kernelTest(
  `expression: --monitor with '${EXPRESSION}' shows that flow's drops only`,
  async () => {
    await withNet("exprmon", async (net) => {
      const drops = (rs: Json[]) => rs.filter((o) => o.type === "drop");
      const records = await traceBoth(
        net,
        ["--monitor", "--json", EXPRESSION],
        (rs) => drops(rs).filter((d) => packetOf(d).dport === KEPT).length >= ROUNDS,
      );
      assertEquals(drops(records).map((d) => packetOf(d).dport), new Array(ROUNDS).fill(KEPT), JSON.stringify(records));
    });
  },
);

/** Whether this kernel has the tracepoint CATEGORY/EVENT. */
function tracepointHere(event: string): boolean {
  return ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"].some((t) => pathExists(`${t}/events/${event}/format`));
}

kernelTest(
  `expression: --sock with '${EXPRESSION}' shows that flow's socket only (its connection as headers)`,
  async () => {
    await withNet("exprsock", async (net) => {
      const sends = (rs: Json[], port: number) =>
        rs.filter((o) =>
          o.type === "event" && o.kind === "socket" && o.point === "sock_send_length" && o.dport === port
        );
      const records = await traceBoth(net, ["--sock", "--json", EXPRESSION], (rs) => sends(rs, KEPT).length >= ROUNDS);
      assertEquals(sends(records, OTHER), []);
      const ports = records.filter((o) => o.type === "event").map((o) => o.dport);
      assert(ports.every((p) => p === KEPT), `an event of another connection: ${JSON.stringify(records)}`);
    });
  },
  tracepointHere("sock/sock_send_length") ? undefined : "this kernel has no sock:sock_send_length (before 6.5)",
);

kernelTest("expression: a bad expression is libpcap's message on one line, exit 2, nothing attached", async () => {
  for (
    const [args, message] of [
      [["--drop", "udp and dst prot 53"], /^nettrace: filter expression 'udp and dst prot 53': unknown host 'prot'\n$/],
      [["-e", "ip6 protochain 6"], /^nettrace: filter expression 'ip6 protochain 6': it loops back .*\n$/],
      [["--diag", "-e", "tcp", "udp"], /^nettrace: the filter expression is given twice: -e 'tcp' and 'udp'\n$/],
      [["--check", "tcp port 80"], /^nettrace: unexpected --check argument 'tcp port 80'/],
    ] as Array<[string[], RegExp]>
  ) {
    const r = await runNettrace(args);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assertMatch(r.stderr, message);
    assertEquals(r.stdout, "");
  }
  await assertNothingLeft("after bad expressions");
});
