import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { schemaProblem } from "../helpers/json_schema.ts";
import { bucketOf, type CpuLatency, mergeLatency, slowestFirst } from "../../src/life/latency_histogram.ts";
import { bucketRange, formatLatencySummary } from "../../src/output/latency_summary.ts";
import { latencySummaryJson } from "../../src/output/json_records.ts";

/** Buckets with counts at these indexes. */
function buckets(at: Record<number, number>): number[] {
  const b = new Array(32).fill(0);
  for (const [i, n] of Object.entries(at)) b[Number(i)] = n;
  return b;
}

const idle: CpuLatency = { count: 0, sumNs: 0, minNs: 0, maxNs: 0 };

Deno.test("latency summary: buckets are powers of two in µs, the first under 1 µs, as the kernel counts them", () => {
  assertEquals([500, 1000, 1999, 2000, 3999, 4000, 1_000_000].map(bucketOf), [0, 1, 1, 2, 2, 3, 10]);
  assertEquals(bucketOf(3_600e9), 31, "the last bucket holds everything above");
  assertEquals([0, 1, 2, 10].map(bucketRange), ["[0, 1)", "[1, 2)", "[2, 4)", "[512, 1024)"]);
});

Deno.test("latency summary: per-CPU counts merged (an idle CPU's zero minimum ignored), slowest first, as text", () => {
  const rx = mergeLatency("netif_receive_skb_tp", [
    { count: 1, sumNs: 100_000, minNs: 100_000, maxNs: 100_000 },
    idle,
    { count: 1, sumNs: 200_000, minNs: 200_000, maxNs: 200_000 },
  ], buckets({ 7: 1, 8: 1 }))!;
  const xmit = mergeLatency(
    "net_dev_xmit",
    [{ count: 2, sumNs: 4_000, minNs: 1_000, maxNs: 3_000 }, idle],
    buckets({
      1: 1,
      2: 1,
    }),
  )!;
  assertEquals(mergeLatency("consume_skb", [idle, idle], buckets({})), undefined, "a point no packet came to");
  assertEquals([rx.count, rx.minNs, rx.maxNs, rx.sumNs, rx.buckets.length], [2, 100_000, 200_000, 300_000, 9]);
  const points = slowestFirst([xmit, rx]);
  assertEquals(points.map((p) => p.point), ["netif_receive_skb_tp", "net_dev_xmit"]);
  const text = formatLatencySummary(points, 2);
  assertMatch(text, /^latency from the point before, per point, in µs \(2 packets\)\n/);
  assertMatch(
    text,
    /\nnetif_receive_skb_tp: 2 times, min 100, avg 150, max 200\n {9}\[64, 128\) {8}1 \|@{40}\|\n {8}\[128, 256\) {8}1 \|@{40}\|\n/,
  );
});

Deno.test("latency summary: the JSON object follows the schema", () => {
  const p = mergeLatency(
    "net_dev_xmit",
    [{ count: 2, sumNs: 4_000, minNs: 1_000, maxNs: 3_000 }],
    buckets({ 1: 1, 2: 1 }),
  )!;
  const o = latencySummaryJson([p], 1);
  assertEquals(schemaProblem(o), undefined, JSON.stringify(o));
});
