/** --json objects from recorded events, each checked against docs/nettrace.schema.json. */
import { assert, assertEquals } from "../helpers/assert.ts";
import { recordedEvent } from "../helpers/recorded_event.ts";
import { schemaProblem } from "../helpers/json_schema.ts";
import { dropJson, lossJson, summaryJson } from "../../src/output/json_records.ts";
import { reasonsFromEnums } from "../../src/event/drop_reasons.ts";
import { safeText } from "../../src/event/kernel_string.ts";

const reasons = reasonsFromEnums(new Map([[2, "SKB_DROP_REASON_NOT_SPECIFIED"], [3, "SKB_DROP_REASON_NO_SOCKET"]]));
const ctx = { reasons, symbolize: () => "tcp_v4_rcv+0x91", wallOffsetNs: Date.UTC(2026, 11, 4) * 1e6 };

const ipv4 = (proto: number, l4: number[]) => ({
  l3Proto: 0x0800,
  l4Proto: proto,
  l3: new Uint8Array([0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, proto, 0, 0, 10, 231, 0, 1, 10, 231, 0, 2]),
  l4: new Uint8Array(l4),
});
const SYN = ipv4(6, [0xc5, 0x52, 0, 9, 0x08, 0x62, 0xbb, 0x10, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
const UDP6 = {
  l3Proto: 0x86dd,
  l4Proto: 17,
  l3: new Uint8Array([0x60, 0, 0, 0, 0, 16, 17, 64, ...new Array(15).fill(0), 1, ...new Array(15).fill(0), 2]),
  l4: new Uint8Array([0x30, 0x39, 0x13, 0x88, 0, 16, 0, 0]),
};
const PING = ipv4(1, [8, 0, 0, 0, 0x12, 0x34, 0, 7]);
const ARP = {
  l3Proto: 0x0806,
  l4Proto: 255,
  l3: new Uint8Array([0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2]),
  l4: new Uint8Array(),
};
const OTHER = { l3Proto: 0x88cc, l4Proto: 255, l3: new Uint8Array(), l4: new Uint8Array() };

Deno.test("json: a drop of each packet kind follows the schema and says what the text line says", () => {
  for (const packet of [SYN, UDP6, PING, ARP, OTHER]) {
    const o = dropJson(recordedEvent({ packet, tsNs: 1_500_000_000, reason: 3, comm: "nc", ifname: "veth0" }), ctx);
    assertEquals(schemaProblem(o), undefined, JSON.stringify(o));
    assertEquals([o.type, o.v, o.reason, o.location], ["drop", 1, "NO_SOCKET", "tcp_v4_rcv+0x91"]);
    assertEquals(o.time, "2026-12-04T00:00:01.500Z");
  }
  const syn = dropJson(recordedEvent({ packet: SYN, skb: 0xffff888109b424e0n }), ctx, ["tcp_v4_rcv+0x91"]);
  assertEquals(syn.skb, "0xffff888109b424e0");
  assertEquals(syn.stack, ["tcp_v4_rcv+0x91"]);
  assertEquals(syn.packet, {
    kind: "ip",
    family: 4,
    saddr: "10.231.0.1",
    daddr: "10.231.0.2",
    protocol: "TCP",
    length: 60,
    ttl: 64,
    sport: 50514,
    dport: 9,
    seq: 140688144,
    ack: 0,
    flags: "S",
    text: "TCP: 10.231.0.1:50514 -> 10.231.0.2:9 seq:140688144, ack:0, flags:S",
  });
  const udp = dropJson(recordedEvent({ packet: UDP6 }), ctx).packet as Record<string, unknown>;
  assertEquals([udp.family, udp.saddr, udp.daddr, udp.protocol, udp.sport, udp.dport], [
    6,
    "::1",
    "::2",
    "UDP",
    12345,
    5000,
  ]);
  const ping = dropJson(recordedEvent({ packet: PING }), ctx).packet as Record<string, unknown>;
  assertEquals([ping.icmp_type, ping.echo_id, ping.echo_seq], [8, 0x1234, 7]);
});

Deno.test("json: without drop reasons the reason is null; names from the kernel stay escaped", () => {
  const comm = safeText(new Uint8Array([0x1b, ...new TextEncoder().encode("[31mx")]));
  const o = dropJson(recordedEvent({ packet: SYN, comm }), { ...ctx, reasons: undefined });
  assertEquals(schemaProblem(o), undefined);
  assertEquals(o.reason, null);
  const line = JSON.stringify(o);
  assert(line.includes('"comm":"\\\\e[31mx"'), line);
  assert(![...line].some((c) => c < " "), line);
});

Deno.test("json: loss reports and the summary follow the schema; a malformed object does not", () => {
  for (const o of [lossJson("lost", 10, 25, "perf buffer"), lossJson("limited", 1, 1, "ring buffer")]) {
    assertEquals(schemaProblem(o), undefined, JSON.stringify(o));
  }
  assertEquals(schemaProblem(summaryJson({ shown: 7, lost: 2, limited: 0, notFollowed: 0 })), undefined);
  // the schema is not vacuous: a wrong type, a missing field, an unknown field are refused
  assert(schemaProblem({ ...summaryJson({ shown: 1, lost: 0, limited: 0, notFollowed: 0 }), shown: "1" }));
  assert(schemaProblem({ type: "drop", v: 1 }));
  assert(schemaProblem({ ...lossJson("lost", 1, 1, "ring buffer"), extra: 1 }));
  assert(schemaProblem({ ...summaryJson({ shown: 1, lost: 0, limited: 0, notFollowed: 0 }), v: 2 }));
});
