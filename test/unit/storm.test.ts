/**
 * --storm-limit's records without a kernel: the key as the kernel lays it out
 * (struct nt_storm_key), its text line and its JSON object.
 */
import { assert, assertEquals, assertThrows } from "../helpers/assert.ts";
import { schemaProblem } from "../helpers/json_schema.ts";
import { STORM, STORM_KEY } from "../../src/event/layout.ts";
import { IDLE_NS, StormCounts } from "../../src/bpf/storm_counts.ts";
import { decodeStormKey, type StormRepeats } from "../../src/event/storm.ts";
import { reasonsFromEnums } from "../../src/event/drop_reasons.ts";
import { formatStormLine } from "../../src/output/storm_line.ts";
import { stormJson, summaryJson } from "../../src/output/json_records.ts";
import { TimestampFormatter } from "../../src/output/timestamp.ts";
import { parseArgs } from "../../src/cli/options.ts";
import { UsageError } from "../../src/errors.ts";

/** A struct nt_storm_key as the kernel writes it. */
function key(
  k: { l3Proto: number; l4Proto: number; saddr: number[]; daddr: number[]; dport: number; flowless?: boolean },
): Uint8Array {
  const b = new Uint8Array(STORM_KEY.size);
  const v = new DataView(b.buffer);
  v.setBigUint64(STORM_KEY.location, 0xffffffff81a00091n, true);
  v.setUint32(STORM_KEY.reason, 3, true);
  v.setUint32(STORM_KEY.netns, 4026532000, true);
  v.setUint16(STORM_KEY.l3_proto, k.l3Proto, true);
  v.setUint16(STORM_KEY.dport, k.dport, true);
  b[STORM_KEY.l4_proto] = k.l4Proto;
  b[STORM_KEY.flowless] = k.flowless ? 1 : 0;
  b.set(k.saddr, STORM_KEY.saddr);
  b.set(k.daddr, STORM_KEY.daddr);
  return b;
}

const UDP4 = key({ l3Proto: 0x0800, l4Proto: 17, saddr: [10, 231, 0, 1], daddr: [10, 231, 0, 2], dport: 9 });
const v6 = (last: number) => [0xfd, 0, ...new Array(13).fill(0), last];
const TCP6 = key({ l3Proto: 0x86dd, l4Proto: 6, saddr: v6(1), daddr: v6(2), dport: 443 });
const ICMP4 = key({ l3Proto: 0x0800, l4Proto: 1, saddr: [10, 0, 0, 1], daddr: [10, 0, 0, 2], dport: 0 });
const ARP = key({ l3Proto: 0x0806, l4Proto: 255, saddr: [], daddr: [], dport: 0 });
// --monitor's key: the drop of every flow
const TCP4_ANY = key({ l3Proto: 0x0800, l4Proto: 6, saddr: [], daddr: [], dport: 0, flowless: true });

const reasons = reasonsFromEnums(new Map([[3, "SKB_DROP_REASON_NO_SOCKET"]]));
const ctx = {
  time: new TimestampFormatter(false, 0),
  reasons,
  symbolize: () => "__udp4_lib_rcv+0x4bc",
  detail: false,
};
const repeats = (k: Uint8Array, count: number): StormRepeats => ({
  key: decodeStormKey(k),
  count,
  seconds: 1.02,
  tsNs: 8221_029887_000,
});

Deno.test("storm: a key decodes to its drop: location, reason, netns, protocol, addresses, port", () => {
  assertEquals(decodeStormKey(UDP4), {
    location: 0xffffffff81a00091n,
    reason: 3,
    netns: 4026532000,
    l3Proto: 0x0800,
    l4Proto: 17,
    saddr: "10.231.0.1",
    daddr: "10.231.0.2",
    dport: 9,
    flowless: false,
  });
  assertEquals(decodeStormKey(TCP4_ANY).flowless, true);
  assertEquals([decodeStormKey(TCP4_ANY).saddr, decodeStormKey(TCP4_ANY).daddr], [undefined, undefined]);
  assertEquals([decodeStormKey(TCP6).saddr, decodeStormKey(TCP6).daddr], ["fd00::1", "fd00::2"]);
  assertEquals([decodeStormKey(ARP).saddr, decodeStormKey(ARP).daddr], [undefined, undefined]);
  assertThrows(() => decodeStormKey(UDP4.subarray(0, 40)), Error, "storm key of 40 bytes");
});

Deno.test("storm: one line per drop and interval, counts with thousands separators", () => {
  assertEquals(
    formatStormLine(repeats(UDP4, 118889), ctx),
    "[8221.029887] UDP: 10.231.0.1 -> 10.231.0.2:9, reason: NO_SOCKET, __udp4_lib_rcv+0x4bc " +
      "... and 118,889 more like this in 1.0 s",
  );
  assertEquals(
    formatStormLine(repeats(TCP6, 2), { ...ctx, reasons: undefined, detail: true }),
    "[8221.029887] netns:4026532000 TCP: fd00::1 -> [fd00::2]:443, __udp4_lib_rcv+0x4bc ... and 2 more like this in 1.0 s",
  );
  assertEquals(
    formatStormLine(repeats(TCP4_ANY, 65000), ctx),
    "[8221.029887] TCP: every flow, reason: NO_SOCKET, __udp4_lib_rcv+0x4bc ... and 65,000 more like this in 1.0 s",
  );
  assertEquals(
    formatStormLine(repeats(ICMP4, 5), ctx),
    "[8221.029887] ICMP: 10.0.0.1 -> 10.0.0.2, reason: NO_SOCKET, __udp4_lib_rcv+0x4bc ... and 5 more like this in 1.0 s",
  );
  assertEquals(formatStormLine(repeats(ARP, 7), ctx).split("] ")[1].split(",")[0], "ARP");
});

Deno.test("storm: the JSON object of each kind of key follows the schema", () => {
  const jctx = { reasons, symbolize: ctx.symbolize, wallOffsetNs: 0 };
  for (const k of [UDP4, TCP6, ICMP4, ARP, TCP4_ANY]) {
    const o = stormJson(repeats(k, 3), jctx);
    assertEquals(schemaProblem(o), undefined, JSON.stringify(o));
    assertEquals([o.type, o.count, o.reason, o.seconds], ["storm", 3, "NO_SOCKET", 1.02]);
  }
  const udp = stormJson(repeats(UDP4, 3), jctx);
  assertEquals([udp.protocol, udp.saddr, udp.daddr, udp.dport], ["UDP", "10.231.0.1", "10.231.0.2", 9]);
  const arp = stormJson(repeats(ARP, 3), jctx);
  assertEquals([arp.protocol, arp.saddr, arp.dport, arp.ethertype], [null, null, null, 0x0806]);
  const any = stormJson(repeats(TCP4_ANY, 3), jctx);
  assertEquals([any.protocol, any.saddr, any.daddr, any.dport, any.text], ["TCP", null, null, null, "TCP: every flow"]);
  const summary = summaryJson({ shown: 100, summarized: 49900, lost: 0, limited: 0, notFollowed: 0, stormFull: 0 });
  assertEquals(schemaProblem(summary), undefined);
});

Deno.test("storm: --storm-limit takes a rate, --no-storm-limit turns it off, both only with --drop", () => {
  assertEquals(parseArgs(["--drop"]).stormLimit, 100);
  assertEquals(parseArgs(["--drop", "--storm-limit", "10/s"]).stormLimit, 10);
  assertEquals(parseArgs(["--drop", "--no-storm-limit"]).stormLimit, 0);
  assertThrows(() => parseArgs(["--drop", "--storm-limit", "0"]), UsageError, "is not a rate");
  assertThrows(() => parseArgs(["--storm-limit", "10"]), UsageError, "are for --drop");
  assertThrows(() => parseArgs(["--no-storm-limit", "-p", "tcp"]), UsageError, "are for --drop");
});

/** A storms map of one key, its counters (struct nt_storm) set by the test as the kernel would. */
class OneKeyMap {
  readonly key = key({ l3Proto: 0x0800, l4Proto: 17, saddr: [10, 0, 0, 1], daddr: [10, 0, 0, 2], dport: 9 });
  readonly value = new Uint8Array(STORM.size);
  readonly view = new DataView(this.value.buffer);
  present = true;
  keys(): Uint8Array[] {
    return this.present ? [this.key] : [];
  }
  lookup(_key: Uint8Array, value: Uint8Array): boolean {
    value.set(this.value);
    return this.present;
  }
  delete(): boolean {
    this.present = false;
    return true;
  }
  set(field: "window_start" | "window_count" | "summarized", n: number): void {
    this.view.setBigUint64(STORM[field], BigInt(n), true);
  }
}

Deno.test("storm: the repeats new since each read; a key is deleted after IDLE_NS with none of its counters changed", () => {
  const map = new OneKeyMap();
  const s = 1e9;
  const counts = new StormCounts(map, 0, { read: () => [] }); // no CPU has a run of it
  map.set("window_start", 1000);
  map.set("window_count", 3);
  assertEquals(counts.take(1 * s), []); // shown drops only: nothing summarized
  map.set("summarized", 40);
  assertEquals(counts.take(2 * s).map((r) => [r.count, r.seconds]), [[40, 1]]);
  map.set("summarized", 45);
  assertEquals(counts.take(3 * s).map((r) => r.count), [5]);
  // a drop shown in a new window, no repeat: not idle, no line
  map.set("window_start", 1250);
  map.set("window_count", 1);
  assertEquals(counts.take(3 * s + IDLE_NS - 1), []);
  assert(map.present, "deleted although its window changed less than IDLE_NS ago");
  // a drop under the limit in the same window keeps it too
  map.set("window_count", 2);
  assertEquals(counts.take(4 * s + IDLE_NS), []);
  assert(map.present, "deleted although its window's count changed");
  assertEquals(counts.take(4 * s + 2 * IDLE_NS - 1), []);
  assert(map.present, "deleted before IDLE_NS without change");
  assertEquals(counts.take(4 * s + 2 * IDLE_NS), []);
  assert(!map.present, "an idle key, all of its repeats reported, is kept");
});
