/** --rtt's pieces without a kernel: a map entry decoded, the histograms as text and JSON, the options. */
import { assert, assertEquals, assertMatch, assertThrows } from "../helpers/assert.ts";
import { schemaProblem } from "../helpers/json_schema.ts";
import { decodeRttConnection, type RttConnection, rttSlotRange } from "../../src/event/rtt_conn.ts";
import { RTT_CONN, RTT_SLOTS } from "../../src/event/layout.ts";
import { formatRttHistograms, RTT_TEXT_MAX, rttJson } from "../../src/output/rtt_histograms.ts";
import { parseArgs } from "../../src/cli/options.ts";
import { UsageError } from "../../src/errors.ts";

/** A struct nt_rtt_conn as the kernel fills it. */
function entry(v6: boolean): { key: Uint8Array; value: Uint8Array } {
  const key = new Uint8Array(8);
  new DataView(key.buffer).setBigUint64(0, 0xffff888104b8c000n, true);
  const value = new Uint8Array(RTT_CONN.size);
  const v = new DataView(value.buffer);
  v.setBigUint64(RTT_CONN.last_mstamp, 123n, true);
  v.setBigUint64(RTT_CONN.count, 5n, true);
  v.setBigUint64(RTT_CONN.sum_us, 1000n, true);
  v.setUint32(RTT_CONN.min_us, 40, true);
  v.setUint32(RTT_CONN.max_us, 700, true);
  v.setUint32(RTT_CONN.srtt_us, 180, true);
  v.setUint32(RTT_CONN.min_rtt_us, 35, true);
  v.setUint32(RTT_CONN.slots + 4 * 5, 2, true); // [32, 64)
  v.setUint32(RTT_CONN.slots + 4 * 7, 2, true); // [128, 256)
  v.setUint32(RTT_CONN.slots + 4 * 9, 1, true); // [512, 1024)
  if (v6) {
    value.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], RTT_CONN.saddr);
    value.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], RTT_CONN.daddr);
  } else {
    value.set([10, 231, 0, 1], RTT_CONN.saddr);
    value.set([10, 231, 0, 2], RTT_CONN.daddr);
  }
  v.setUint16(RTT_CONN.sport, 40000, true);
  v.setUint16(RTT_CONN.dport, 7461, true);
  v.setUint16(RTT_CONN.family, v6 ? 10 : 2, true);
  return { key, value };
}

Deno.test("rtt: a map entry decoded field by field, IPv4 and IPv6; the slots' ranges", () => {
  const { key, value } = entry(false);
  const c = decodeRttConnection(key, value);
  assertEquals(c.sk, 0xffff888104b8c000n);
  assertEquals([c.family, c.saddr, c.sport, c.daddr, c.dport], [4, "10.231.0.1", 40000, "10.231.0.2", 7461]);
  assertEquals([c.samples, c.sumUs, c.minUs, c.maxUs, c.srttUs, c.minRttUs], [5, 1000, 40, 700, 180, 35]);
  assertEquals(c.slots.length, RTT_SLOTS);
  assertEquals([c.slots[5], c.slots[7], c.slots[9], c.slots.reduce((a, b) => a + b)], [2, 2, 1, 5]);
  const six = entry(true);
  const c6 = decodeRttConnection(six.key, six.value);
  assertEquals([c6.family, c6.saddr, c6.daddr], [6, "fd00::1", "fd00::2"]);
  assertEquals(rttSlotRange(0), [1, 2]);
  assertEquals(rttSlotRange(5), [32, 64]);
  assertEquals(rttSlotRange(RTT_SLOTS - 1), [2 ** (RTT_SLOTS - 1), Infinity]);
});

Deno.test("rtt: the histograms, the most sampled connection first; the text is bounded, the JSON is whole", () => {
  const { key, value } = entry(false);
  const c = decodeRttConnection(key, value);
  const busier: RttConnection = { ...c, sport: 40001, samples: 9, slots: c.slots.map((n) => n * 2) };
  const empty: RttConnection = { ...c, sport: 40002, samples: 0, slots: c.slots.map(() => 0) };
  const text = formatRttHistograms([c, busier, empty], 5, true);
  const lines = text.split("\n");
  assertEquals(lines[0], "RTT per TCP connection, in µs: 14 samples, 2 connections");
  assertEquals(
    lines[2],
    "TCP 10.231.0.1:40001 -> 10.231.0.2:7461: 9 samples, min 40, avg 111, max 700; srtt 180, min_rtt 35",
  );
  assertMatch(
    text,
    /\n {10}\[32, 64\) {8}4 \|@{40}\|\n {9}\[64, 128\) {8}0 \| {40}\|\n {8}\[128, 256\) {8}4 \|@{40}\|\n/,
  );
  assert(!text.includes("40002"), "a connection without samples is left out");
  assertMatch(formatRttHistograms([c], 12.34, false), /^RTT per TCP connection, in µs \(after 12\.3 s\): 5 samples/);
  const many = Array.from({ length: RTT_TEXT_MAX + 3 }, (_, i) => ({ ...c, sport: 1000 + i }));
  assertMatch(
    formatRttHistograms(many, 1, true),
    /\.\.\. and 3 connections with fewer samples \(--json lists them all\)\n$/,
  );
  const json = rttJson([c, busier, empty], {
    tsNs: 5_000_000_000,
    wallOffsetNs: 1_700_000_000_000_000_000,
    seconds: 5,
    final: true,
  });
  assertEquals(schemaProblem(json), undefined, JSON.stringify(json));
  const conns = json.connections as Array<Record<string, unknown>>;
  assertEquals(conns.map((x) => x.sport), [40001, 40000]);
  assertEquals(conns[1].buckets, [
    { from_us: 32, to_us: 64, count: 2 },
    { from_us: 128, to_us: 256, count: 2 },
    { from_us: 512, to_us: 1024, count: 1 },
  ]);
  assertEquals(conns[1].avg_us, 200);
  assertEquals(schemaProblem(rttJson(many, { tsNs: 1, wallOffsetNs: 0, seconds: 1, final: false })), undefined);
  assert(schemaProblem({ ...json, connections: [{ ...conns[0], samples: "9" }] }), "a malformed object is refused");
});

Deno.test("rtt: the modes and their thresholds, in µs; each threshold for its mode; packet options refused", () => {
  const rtt = parseArgs(["--rtt", "--filter-srtt", "10", "--filter-minrtt", "2", "--interval", "5", "-P", "443"]);
  assertEquals([rtt.mode, rtt.rttDetail, rtt.intervalS], ["rtt", false, 5]);
  assertEquals([rtt.rttMin.srttUs, rtt.rttMin.minRttUs, rtt.rttMin.rttUs], [10_000, 2_000, undefined]);
  assertEquals(parseArgs(["--rtt-detail"]).rttDetail, true);
  const sock = parseArgs(["--sock", "--tcp-rtt", "10", "--tcp-srtt", "20"]);
  assertEquals([sock.rttMin.rttUs, sock.rttMin.srttUs], [10_000, 20_000]);
  const monitor = parseArgs(["--monitor", "--tcp-rtt", "10"]);
  assertEquals([monitor.mode, monitor.rttMin.rttUs], ["monitor", 10_000]);
  const bad: Array<[string[], string]> = [
    [
      ["--tcp-rtt", "10"],
      "--tcp-rtt is for --sock and --monitor (as in the C nettrace; --rtt takes --filter-srtt and --filter-minrtt)",
    ],
    [
      ["--rtt", "--tcp-srtt", "10"],
      "--tcp-srtt is for --sock and --monitor (as in the C nettrace; --rtt takes --filter-srtt and --filter-minrtt)",
    ],
    [
      ["--sock", "--filter-srtt", "10"],
      "--filter-srtt is for --rtt and --rtt-detail (--sock takes --tcp-rtt and --tcp-srtt)",
    ],
    [
      ["--drop", "--filter-minrtt", "1"],
      "--filter-minrtt is for --rtt and --rtt-detail (--sock takes --tcp-rtt and --tcp-srtt)",
    ],
    [["--rtt", "--filter-srtt", "x"], "--filter-srtt: 'x' is not a whole number"],
    [["--rtt", "--filter-srtt", "1", "--filter-srtt", "2"], "--filter-srtt: --filter-srtt already set this threshold"],
    [["--rtt", "--diag"], "--diag is about packets: --rtt traces sockets, it cannot be combined with it"],
    [["--rtt", "--sock"], "--sock cannot be combined with --rtt: they are different modes"],
    [["--sock", "--interval", "5"], "--interval is for --func-stats and --rtt"],
  ];
  for (const [args, msg] of bad) {
    const e = assertThrows(() => parseArgs(args), UsageError);
    assertEquals(e.message, msg, args.join(" "));
  }
});
