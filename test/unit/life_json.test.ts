/** The lifecycle mode's --json objects from recorded events, each checked against docs/nettrace.schema.json. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { recordedEvent, recordedSocket } from "../helpers/recorded_event.ts";
import { schemaProblem } from "../helpers/json_schema.ts";
import { JsonLifeSink, TextLifeSink } from "../../src/output/life_sink.ts";
import { dropCauseText } from "../../src/output/life_line.ts";
import { TimestampFormatter } from "../../src/output/timestamp.ts";
import type { LifeJsonContext } from "../../src/output/life_json.ts";
import type { PacketReport } from "../../src/diag/packet_report.ts";
import type { Rule } from "../../src/diag/rules.ts";

const POINTS = ["ip_rcv", "nf_hook_slow", "kfree_skb"];
const ctx: LifeJsonContext = {
  pointName: (i) => POINTS[i] ?? `point#${i}`,
  wallOffsetNs: 0,
  dropCause: (ev) => (ev.point === 2 ? { reason: "NETFILTER_DROP", location: "nf_hook_slow+0x9c" } : undefined),
  freedWithDropReason: (ev) => ev.point === 2,
  socket: { hz: 250, resetReason: (v) => (v === 11 ? "TCP_ABORT_ON_CLOSE" : undefined) },
};
const sink = new JsonLifeSink(ctx);
const packet = {
  l3Proto: 0x0800,
  l4Proto: 6,
  l3: new Uint8Array([0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]),
  l4: new Uint8Array([0xc5, 0x52, 0x1f, 0x90, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]),
};
const nf = { pf: 2, hook: 1, hooks: [], table: "filter", chain: "" };
const events = [
  recordedEvent({ packet, point: 0, skb: 0xff00n, tsNs: 1000 }),
  recordedEvent({ packet, point: 1, skb: 0xff00n, tsNs: 2000, nf, ret: 0xfffffffffffffff3n }),
  recordedEvent({ packet, point: 2, skb: 0xff00n, tsNs: 3000, location: 0xffffffff81000000n }),
];
const report: PacketReport = {
  messages: [[], ["dropped by iptables"], ["packet is dropped by netfilter"]],
  findings: [{
    finding: {
      level: "ERROR",
      point: "kfree_skb",
      group: "life",
      message: "packet is dropped by netfilter",
      rule: {} as Rule,
    },
    location: "nf_hook_slow+0x9c",
    reason: { name: "NETFILTER_DROP", meaning: "dropped by a netfilter rule" },
    advice: "check your netfilter rules",
  }],
  notes: ["not checked here: 2 rules"],
  abnormal: true,
  error: true,
};

function parsed(line: string): Record<string, unknown> {
  const o = JSON.parse(line);
  assertEquals(schemaProblem(o), undefined, line);
  return o;
}

Deno.test("life json: a packet block with its events, netfilter verdict, drop cause and analysis", () => {
  const o = parsed(sink.block({ skbs: [0xff00n], events, complete: true }, report));
  assertEquals([o.type, o.v, o.skbs, o.complete], ["packet", 1, ["0xff00"], true]);
  const evs = o.events as Record<string, unknown>[];
  assertEquals(evs.map((e) => e.point), POINTS);
  assertEquals(evs[1].netfilter, { family: "ipv4", hook: "INPUT", table: "filter", verdict: "drop" });
  assertEquals(evs[1].ret, "-13");
  assertEquals([evs[2].reason, evs[2].location, evs[2].findings], [
    "NETFILTER_DROP",
    "nf_hook_slow+0x9c",
    ["packet is dropped by netfilter"],
  ]);
  assertEquals((o.analysis as Record<string, unknown>).notes, ["not checked here: 2 rules"]);
  assertEquals(((o.analysis as Record<string, unknown>).findings as Record<string, unknown>[])[0], {
    level: "ERROR",
    point: "kfree_skb",
    group: "life",
    message: "packet is dropped by netfilter",
    location: "nf_hook_slow+0x9c",
    reason: "NETFILTER_DROP",
    reason_meaning: "dropped by a netfilter rule",
    advice: "check your netfilter rules",
  });
  // a normal packet has no analysis
  assert(!("analysis" in parsed(sink.block({ skbs: [0xff00n], events: events.slice(0, 1), complete: false }))));
});

Deno.test("life json: a socket block, and --basic events of every kind", () => {
  const sock = recordedSocket({ rstReason: 11, point: 0 });
  const o = parsed(sink.socketBlock({ sk: sock.sk, events: [sock] }));
  const ev = (o.events as Record<string, unknown>[])[0];
  assertEquals([o.type, ev.reset_reason, ev.family], ["socket", "TCP_ABORT_ON_CLOSE", 4]);
  assertEquals(parsed(sink.event(events[0])).kind, "packet");
  assertEquals(parsed(sink.socketEvent(sock)).kind, "socket");
  assertEquals(parsed(sink.netfilter(5, 1, nf)).table, "filter");
  assertEquals(parsed(sink.ret(6, 0, 0xffffffffffffffffn)).ret, "-1");
});

Deno.test("life sinks: the text sink renders the same block, its drop cause and its ANALYSIS RESULT", () => {
  const text = new TextLifeSink({
    time: new TimestampFormatter(false, 0),
    pointName: ctx.pointName,
    detail: false,
    dropCause: ctx.dropCause,
    freedWithDropReason: ctx.freedWithDropReason,
  }, { time: new TimestampFormatter(false, 0), pointName: ctx.pointName, detail: false }).block(
    { skbs: [0xff00n], events, complete: true },
    report,
  );
  const lines = text.split("\n");
  assertEquals(lines[0], "***************** ff00 ***************");
  assertEquals(
    lines[2],
    "[0.000002] [nf_hook_slow        ] TCP: 10.0.0.1:50514 -> 10.0.0.2:8080 seq:1, ack:0, flags:S, ret: -13" +
      " *iptables table:filter, ipv4 in chain: INPUT, verdict: drop* *dropped by iptables*",
  );
  assertEquals(
    lines[3],
    "[0.000003] [kfree_skb           ] TCP: 10.0.0.1:50514 -> 10.0.0.2:8080 seq:1, ack:0, flags:S" +
      " *reason: NETFILTER_DROP, nf_hook_slow+0x9c* *packet is dropped by netfilter*",
  );
  assert(
    text.includes("---------------- ANALYSIS RESULT ---------------------\n[1] ERROR happens in kfree_skb(life):"),
  );
  assert(text.includes("\nnot checked here: 2 rules\n"), text);
  assertEquals(dropCauseText({ location: "tcp_v4_rcv+0x81" }), "tcp_v4_rcv+0x81");
  assertEquals(dropCauseText({ reason: "NO_SOCKET" }), "reason: NO_SOCKET");
});
